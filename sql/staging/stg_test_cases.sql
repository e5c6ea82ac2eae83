-- One row per test case loaded. run_signature says which version of its run the case belongs to.
with

source as (
    select * from benchmarks_raw.test_cases
),

renamed as (
    select
        cast(id as bigint) as test_case_id,
        cast(probe_run_id as bigint) as probe_run_id,
        cast(model_id as bigint) as model_id,
        cast(benchmark_type_id as bigint) as benchmark_type_id,
        cast(upper(result) as varchar) as result,
        cast(attack as varchar) as attack,
        cast(strategy as varchar) as strategy,
        cast(red_teamer as varchar) as red_teamer,
        cast(variation as varchar) as variation,
        detection_time,
        cast(explanation as varchar) as explanation,
        run_signature,
        cast(_dlt_load_id as varchar) as load_id
    from source
)

select * from renamed
