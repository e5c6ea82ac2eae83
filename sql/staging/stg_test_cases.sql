-- One row per test case loaded. run_signature says which version of its run the case belongs to.
with

source as (
    select * from benchmarks_raw.test_cases
),

renamed as (
    select
        id as test_case_id,
        probe_run_id,
        model_id,
        benchmark_type_id,
        upper(result) as result,
        attack,
        strategy,
        red_teamer,
        variation,
        detection_time,
        explanation,
        run_signature,
        nul_replaced,
        _dlt_load_id as load_id
    from source
)

select * from renamed
