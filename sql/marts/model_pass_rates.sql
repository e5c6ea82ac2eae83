-- One row per model and benchmark type that has runs, from each probe's latest run.
-- Computed in benchmarks_stg.int_model_pass_rates, which the leaderboard reads too.
with

pass_rates as (
    select * from benchmarks_stg.int_model_pass_rates
),

final as (
    select * from pass_rates
)

select * from final
