-- One row per model and benchmark type that has runs, from each probe's latest run.
-- Computed in benchmarks_stg.int_model_pass_rates, which the leaderboard reads too.
with

pass_rates as (
    select * from benchmarks_stg.int_model_pass_rates
),

final as (
    select
        *,
        cast(benchmarks_stg.percent(pass_rate) as double) as pass_rate_pct,
        cast(benchmarks_stg.percent(pass_rate_low) as double) as pass_rate_low_pct,
        cast(benchmarks_stg.percent(pass_rate_high) as double) as pass_rate_high_pct
    from pass_rates
)

select * from final
