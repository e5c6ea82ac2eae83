-- Models ranked per benchmark type, and overall across types (benchmark_type_id NULL): rank 1 = best by the lower
-- bound of the pass rate's 95% interval, ties broken by pass rate, then model id. Models never rated rank last.
-- The percentages are the rates rounded by benchmarks_stg.percent, the same on every engine.
with

per_type as (
    select * from benchmarks_stg.int_model_pass_rates
),

overall_totals as (
    select
        model_id,
        min(model_name) as model_name,
        min(provider) as provider,
        sum(passed) as passed,
        sum(failed) as failed,
        sum(test_cases) as test_cases
    from per_type
    group by model_id
),

overall as (
    select
        cast(null as bigint) as benchmark_type_id,
        'All types' as benchmark_type_name,
        model_id,
        model_name,
        provider,
        cast(benchmarks_stg.pass_rate(passed, failed) as double) as pass_rate,
        cast(benchmarks_stg.wilson_low(passed, failed) as double) as pass_rate_low,
        cast(benchmarks_stg.wilson_high(passed, failed) as double) as pass_rate_high,
        cast(test_cases as bigint) as test_cases
    from overall_totals
),

scored as (
    select
        benchmark_type_id,
        benchmark_type_name,
        model_id,
        model_name,
        provider,
        pass_rate,
        pass_rate_low,
        pass_rate_high,
        test_cases
    from per_type
    union all
    select * from overall
),

final as (
    select
        benchmark_type_id,
        benchmark_type_name,
        cast(row_number() over (
            partition by benchmark_type_id
            order by pass_rate_low desc nulls last, pass_rate desc nulls last, model_id asc
        ) as bigint) as rank,
        model_id,
        model_name,
        provider,
        pass_rate,
        pass_rate_low,
        pass_rate_high,
        test_cases,
        cast(benchmarks_stg.percent(pass_rate) as double) as pass_rate_pct,
        cast(benchmarks_stg.percent(pass_rate_low) as double) as pass_rate_low_pct,
        cast(benchmarks_stg.percent(pass_rate_high) as double) as pass_rate_high_pct
    from scored
)

select * from final
order by benchmark_type_id asc nulls first, rank asc nulls last
