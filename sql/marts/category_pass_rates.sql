-- One row per model, benchmark type and probe category, from each probe's latest run.
with

latest_runs as (
    select * from benchmarks_stg.int_latest_runs
),

totals as (
    select
        model_id,
        benchmark_type_id,
        probe_category_id,
        min(probe_category_name) as probe_category_name,
        sum(passed_count) as passed,
        sum(failed_count) as failed,
        sum(error_count) as errors
    from latest_runs
    group by model_id, benchmark_type_id, probe_category_id
),

rated as (
    select
        model_id,
        benchmark_type_id,
        probe_category_id,
        probe_category_name,
        cast(passed as bigint) as passed,
        cast(failed as bigint) as failed,
        cast(errors as bigint) as errors,
        cast(benchmarks_stg.pass_rate(passed, failed) as double) as pass_rate,
        cast(benchmarks_stg.wilson_low(passed, failed) as double) as pass_rate_low,
        cast(benchmarks_stg.wilson_high(passed, failed) as double) as pass_rate_high
    from totals
),

-- ordinal: 1 = the model's weakest category in the benchmark type (lowest pass rate), unrated ones last.
final as (
    select
        *,
        cast(benchmarks_stg.percent(pass_rate) as double) as pass_rate_pct,
        cast(benchmarks_stg.percent(pass_rate_low) as double) as pass_rate_low_pct,
        cast(benchmarks_stg.percent(pass_rate_high) as double) as pass_rate_high_pct,
        cast(row_number() over (
            partition by model_id, benchmark_type_id
            order by pass_rate asc nulls last, probe_category_id asc nulls last
        ) as bigint) as ordinal
    from rated
)

select * from final
