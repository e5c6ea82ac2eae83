-- One row per message of a test case's conversation; position is 0-based in conversation order.
with

source as (
    select * from benchmarks_raw.test_case_messages
),

renamed as (
    select
        cast(test_case_id as bigint) as test_case_id,
        cast(probe_run_id as bigint) as probe_run_id,
        cast(position as integer) as position,
        cast(role as varchar) as role,
        cast(content as varchar) as content
    from source
)

select * from renamed
