-- One row per test case of a probe run the API lists now, as of that run's current counts and score.
with

test_cases as (
    select * from benchmarks_stg.stg_test_cases
),

runs as (
    select * from benchmarks_stg.stg_probe_runs
),

current_runs as (
    select
        probe_run_id,
        signature
    from runs
    where probe_run_id in (select probe_runs.probe_run_id from probe_runs)
),

final as (
    select
        test_cases.test_case_id,
        test_cases.probe_run_id,
        test_cases.model_id,
        test_cases.benchmark_type_id,
        test_cases.result,
        test_cases.attack,
        test_cases.strategy,
        test_cases.red_teamer,
        test_cases.variation,
        test_cases.detection_time
    from test_cases
    inner join current_runs
        on
            test_cases.probe_run_id = current_runs.probe_run_id
            and test_cases.run_signature = current_runs.signature
)

select * from final
