-- One row per probe whose latest run has a lower pass rate than the run before it (probes with two or more
-- runs and a pass rate in both). significant: the two runs' 95% Wilson intervals do not overlap.
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
        benchmarks_stg.wilson_high(latest.passed_count, latest.failed_count) as latest_high
    from latest
    inner join previous
        on
            latest.model_id = previous.model_id
            and latest.benchmark_type_id = previous.benchmark_type_id
            and latest.probe_id = previous.probe_id
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
        latest_high < previous_low as significant
    from compared
    where latest_pass_rate < previous_pass_rate
),

-- ordinal: 1 = the largest drop of all, ties broken by model, benchmark type and probe id.
final as (
    select
        model_id,
        benchmark_type_id,
        probe_id,
        probe_name,
        previous_run_id,
        latest_run_id,
        previous_pass_rate,
        latest_pass_rate,
        delta,
        significant,
        cast(benchmarks_stg.percent(previous_pass_rate) as double) as previous_pass_rate_pct,
        cast(benchmarks_stg.percent(latest_pass_rate) as double) as latest_pass_rate_pct,
        cast(benchmarks_stg.percent(delta) as double) as delta_pct,
        cast(row_number() over (
            order by
                delta asc nulls last, model_id asc nulls last, benchmark_type_id asc nulls last,
                probe_id asc nulls last
        ) as bigint) as ordinal
    from dropped
)

select * from final
