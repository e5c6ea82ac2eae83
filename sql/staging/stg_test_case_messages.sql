-- One row per message of a test case's conversation, of a run recorded as loaded (benchmarks_raw.loaded_runs);
-- position is 0-based in conversation order.
with

source as (
    select * from benchmarks_raw.test_case_messages
),

loaded_runs as (
    select * from benchmarks_raw.loaded_runs
),

renamed as (
    select
        source.test_case_id,
        source.probe_run_id,
        cast(source.position as integer) as position,
        source.role,
        source.content,
        source.nul_replaced
    from source
    inner join loaded_runs
        on
            source.probe_run_id = loaded_runs.probe_run_id
            and source._dlt_load_id = loaded_runs.load_id
)

select * from renamed
