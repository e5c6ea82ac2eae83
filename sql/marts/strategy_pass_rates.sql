-- One row per model, benchmark type and attack style (strategy, red teamer, variation), counted over the test
-- cases of each probe's latest run: which attack styles get through.
with

latest_runs as (
    select probe_run_id from benchmarks_stg.int_latest_runs
),

current_cases as (
    select * from benchmarks_stg.int_test_cases
),

totals as (
    select
        current_cases.model_id,
        current_cases.benchmark_type_id,
        current_cases.strategy,
        current_cases.red_teamer,
        current_cases.variation,
        count(*) filter (where current_cases.result = 'PASSED') as passed,
        count(*) filter (where current_cases.result = 'FAILED') as failed,
        count(*) filter (where current_cases.result not in ('PASSED', 'FAILED')) as errors
    from current_cases
    inner join latest_runs
        on current_cases.probe_run_id = latest_runs.probe_run_id
    group by
        current_cases.model_id, current_cases.benchmark_type_id, current_cases.strategy, current_cases.red_teamer,
        current_cases.variation
),

rated as (
    select
        model_id,
        benchmark_type_id,
        strategy,
        red_teamer,
        variation,
        cast(passed as bigint) as passed,
        cast(failed as bigint) as failed,
        cast(errors as bigint) as errors,
        cast(benchmarks_stg.pass_rate(passed, failed) as double) as pass_rate,
        cast(benchmarks_stg.wilson_low(passed, failed) as double) as pass_rate_low,
        cast(benchmarks_stg.wilson_high(passed, failed) as double) as pass_rate_high
    from totals
),

final as (
    select
        *,
        cast(benchmarks_stg.percent(pass_rate) as double) as pass_rate_pct,
        cast(benchmarks_stg.percent(pass_rate_low) as double) as pass_rate_low_pct,
        cast(benchmarks_stg.percent(pass_rate_high) as double) as pass_rate_high_pct
    from rated
)

select * from final
