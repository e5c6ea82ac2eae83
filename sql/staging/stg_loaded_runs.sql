-- One row per probe run recorded as loaded (benchmarks_raw.loaded_runs, written by the commit step): the load that
-- brought the run's rows whole, so a reader can tell what arrived in which load.
with

source as (
    select * from benchmarks_raw.loaded_runs
),

renamed as (
    select
        probe_run_id,
        load_id,
        run_signature
    from source
)

select * from renamed
