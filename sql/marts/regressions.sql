-- One row per probe whose latest run has a lower pass rate than the run before it (probes with two or more
-- runs and a pass rate in both). significant: the two runs' 95% Wilson intervals do not overlap. The counts, the
-- bounds and the load that brought the latest run are what `benchmarks-etl check` gates on.
with

runs as (
    select * from benchmarks_stg.int_runs
    where recency <= 2
),

latest as (
    select * from runs
    where recency = 1
),

previous as (
    select * from runs
    where recency = 2
),

loaded_runs as (
    select * from benchmarks_stg.stg_loaded_runs
),

compared as (
    select
        latest.model_id,
        latest.benchmark_type_id,
        latest.probe_id,
        latest.probe_name,
        previous.probe_run_id as previous_run_id,
        latest.probe_run_id as latest_run_id,
        benchmarks_stg.pass_rate(previous.passed_count, previous.failed_count) as previous_pass_rate,
        benchmarks_stg.pass_rate(latest.passed_count, latest.failed_count) as latest_pass_rate,
        benchmarks_stg.wilson_low(previous.passed_count, previous.failed_count) as previous_low,
        benchmarks_stg.wilson_high(latest.passed_count, latest.failed_count) as latest_high,
        benchmarks_stg.wilson_high(previous.passed_count, previous.failed_count) as previous_high,
        benchmarks_stg.wilson_low(latest.passed_count, latest.failed_count) as latest_low,
        previous.passed_count as previous_passed_count,
        previous.failed_count as previous_failed_count,
        latest.passed_count as latest_passed_count,
        latest.failed_count as latest_failed_count,
        loaded_runs.load_id as latest_load_id
    from latest
    inner join previous
        on
            latest.model_id = previous.model_id
            and latest.benchmark_type_id = previous.benchmark_type_id
            and latest.probe_id = previous.probe_id
    left join loaded_runs
        on latest.probe_run_id = loaded_runs.probe_run_id
),

dropped as (
    select
        model_id,
        benchmark_type_id,
        probe_id,
        probe_name,
        previous_run_id,
        latest_run_id,
        cast(previous_pass_rate as double) as previous_pass_rate,
        cast(latest_pass_rate as double) as latest_pass_rate,
        cast(latest_pass_rate - previous_pass_rate as double) as delta,
        latest_high < previous_low as significant,
        previous_passed_count,
        previous_failed_count,
        latest_passed_count,
        latest_failed_count,
        cast(previous_low as double) as previous_pass_rate_low,
        cast(previous_high as double) as previous_pass_rate_high,
        cast(latest_low as double) as latest_pass_rate_low,
        cast(latest_high as double) as latest_pass_rate_high,
        latest_load_id
    from compared
    where latest_pass_rate < previous_pass_rate
),

-- ordinal: 1 = the largest drop of all, ties broken by model, benchmark type and probe id.
final as (
    select
        *,
        cast(benchmarks_stg.percent(previous_pass_rate) as double) as previous_pass_rate_pct,
        cast(benchmarks_stg.percent(latest_pass_rate) as double) as latest_pass_rate_pct,
        cast(benchmarks_stg.percent(delta) as double) as delta_pct,
        cast(benchmarks_stg.percent(previous_pass_rate_low) as double) as previous_pass_rate_low_pct,
        cast(benchmarks_stg.percent(previous_pass_rate_high) as double) as previous_pass_rate_high_pct,
        cast(benchmarks_stg.percent(latest_pass_rate_low) as double) as latest_pass_rate_low_pct,
        cast(benchmarks_stg.percent(latest_pass_rate_high) as double) as latest_pass_rate_high_pct,
        cast(row_number() over (
            order by
                delta asc nulls last, model_id asc nulls last, benchmark_type_id asc nulls last,
                probe_id asc nulls last
        ) as bigint) as ordinal
    from dropped
)

select * from final
