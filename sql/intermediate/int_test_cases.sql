-- One row per test case of a probe run the API lists now, as of that run's current counts and score.
-- The analytics views test_cases, test_case_messages, strategy_pass_rates and data_quality all read it: an
-- analytics view never reads another one (in a warehouse file named analytics.duckdb, `analytics.x` is ambiguous).
with

all_cases as (
    select * from benchmarks_stg.stg_test_cases
),

runs as (
    select * from benchmarks_stg.stg_probe_runs
),

listed_runs as (
    select probe_run_id from benchmarks_stg.int_runs
),

current_runs as (
    select
        probe_run_id,
        signature
    from runs
    where probe_run_id in (select listed_runs.probe_run_id from listed_runs)
),

final as (
    select
        all_cases.test_case_id,
        all_cases.probe_run_id,
        all_cases.model_id,
        all_cases.benchmark_type_id,
        all_cases.result,
        all_cases.attack,
        all_cases.strategy,
        all_cases.red_teamer,
        all_cases.variation,
        all_cases.detection_time
    from all_cases
    inner join current_runs
        on
            all_cases.probe_run_id = current_runs.probe_run_id
            and all_cases.run_signature = current_runs.signature
)

select * from final
