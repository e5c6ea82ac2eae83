-- One row per message of a test case's conversation; position is 0-based in conversation order.
with

source as (
    select * from benchmarks_raw.test_case_messages
),

renamed as (
    select
        test_case_id,
        probe_run_id,
        cast(position as integer) as position,
        role,
        content,
        nul_replaced
    from source
)

select * from renamed
