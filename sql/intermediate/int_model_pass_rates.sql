-- One row per model and benchmark type that has runs, from each probe's latest run.
-- The analytics views model_pass_rates and leaderboard both read it: an analytics view never reads another one
-- (in a warehouse file named analytics.duckdb, `analytics.x` is an ambiguous reference).
with

latest_runs as (
    select * from benchmarks_stg.int_latest_runs
),

all_models as (
    select * from benchmarks_stg.stg_models
),

all_benchmark_types as (
    select * from benchmarks_stg.stg_benchmark_types
),

totals as (
    select
        model_id,
        benchmark_type_id,
        count(distinct probe_id) as probes,
        sum(total_count) as test_cases,
        sum(passed_count) as passed,
        sum(failed_count) as failed,
        sum(error_count) as errors
    from latest_runs
    group by model_id, benchmark_type_id
),

final as (
    select
        totals.model_id,
        all_models.name as model_name,
        all_models.provider,
        totals.benchmark_type_id,
        all_benchmark_types.name as benchmark_type_name,
        cast(totals.probes as bigint) as probes,
        cast(totals.test_cases as bigint) as test_cases,
        cast(totals.passed as bigint) as passed,
        cast(totals.failed as bigint) as failed,
        cast(totals.errors as bigint) as errors,
        cast(benchmarks_stg.pass_rate(totals.passed, totals.failed) as double) as pass_rate,
        cast(benchmarks_stg.wilson_low(totals.passed, totals.failed) as double) as pass_rate_low,
        cast(benchmarks_stg.wilson_high(totals.passed, totals.failed) as double) as pass_rate_high
    from totals
    inner join all_models
        on totals.model_id = all_models.model_id
    left join all_benchmark_types
        on totals.benchmark_type_id = all_benchmark_types.benchmark_type_id
)

select * from final
