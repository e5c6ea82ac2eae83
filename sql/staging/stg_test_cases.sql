-- One row per test case of a run recorded as loaded (benchmarks_raw.loaded_runs): the rows of the load that brought
-- the run whole. run_signature says which version of its run the case belongs to.
with

source as (
    select * from benchmarks_raw.test_cases
),

loaded_runs as (
    select * from benchmarks_raw.loaded_runs
),

renamed as (
    select
        source.id as test_case_id,
        source.probe_run_id,
        source.model_id,
        source.benchmark_type_id,
        upper(source.result) as result,
        source.attack,
        source.strategy,
        source.red_teamer,
        source.variation,
        source.detection_time,
        source.explanation,
        source.run_signature,
        source.nul_replaced,
        source._dlt_load_id as load_id
    from source
    inner join loaded_runs
        on
            source.probe_run_id = loaded_runs.probe_run_id
            and source._dlt_load_id = loaded_runs.load_id
)

select * from renamed
