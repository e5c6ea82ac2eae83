-- One row per model, benchmark type and probe: its latest run's figures, and how many runs it has in all.
with

runs as (
    select * from benchmarks_stg.int_runs
),

run_counts as (
    select
        model_id,
        benchmark_type_id,
        probe_id,
        count(*) as runs
    from runs
    group by model_id, benchmark_type_id, probe_id
),

latest_runs as (
    select * from runs
    where recency = 1
),

rated as (
    select
        latest_runs.model_id,
        latest_runs.benchmark_type_id,
        latest_runs.probe_id,
        latest_runs.probe_name,
        latest_runs.probe_category_id,
        latest_runs.probe_category_name,
        latest_runs.probe_run_id as latest_run_id,
        latest_runs.created_at as latest_created_at,
        latest_runs.passed_count as passed,
        latest_runs.failed_count as failed,
        latest_runs.error_count as errors,
        cast(benchmarks_stg.pass_rate(latest_runs.passed_count, latest_runs.failed_count) as double) as pass_rate,
        cast(benchmarks_stg.wilson_low(latest_runs.passed_count, latest_runs.failed_count) as double)
            as pass_rate_low,
        cast(benchmarks_stg.wilson_high(latest_runs.passed_count, latest_runs.failed_count) as double)
            as pass_rate_high,
        cast(run_counts.runs as bigint) as runs
    from latest_runs
    inner join run_counts
        on
            latest_runs.model_id = run_counts.model_id
            and latest_runs.benchmark_type_id = run_counts.benchmark_type_id
            and latest_runs.probe_id = run_counts.probe_id
),

-- ordinal: 1 = the model's weakest probe in the benchmark type (lowest pass rate), unrated ones last.
final as (
    select
        *,
        cast(benchmarks_stg.percent(pass_rate) as double) as pass_rate_pct,
        cast(benchmarks_stg.percent(pass_rate_low) as double) as pass_rate_low_pct,
        cast(benchmarks_stg.percent(pass_rate_high) as double) as pass_rate_high_pct,
        cast(row_number() over (
            partition by model_id, benchmark_type_id
            order by pass_rate asc nulls last, probe_id asc nulls last
        ) as bigint) as ordinal
    from rated
)

select * from final
