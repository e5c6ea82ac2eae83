-- One row per model, benchmark type and UTC day: every run created that day (not only the latest).
with

runs as (
    select * from benchmarks_stg.int_runs
),

daily as (
    select
        model_id,
        benchmark_type_id,
        cast(created_at at time zone 'UTC' as date) as day,
        sum(passed_count) as passed,
        sum(failed_count) as failed
    from runs
    group by model_id, benchmark_type_id, cast(created_at at time zone 'UTC' as date)
),

rated as (
    select
        model_id,
        benchmark_type_id,
        day,
        cast(passed as bigint) as passed,
        cast(failed as bigint) as failed,
        cast(benchmarks_stg.pass_rate(passed, failed) as double) as pass_rate
    from daily
),

final as (
    select
        model_id,
        benchmark_type_id,
        day,
        passed,
        failed,
        pass_rate,
        cast(benchmarks_stg.percent(pass_rate) as double) as pass_rate_pct
    from rated
)

select * from final
