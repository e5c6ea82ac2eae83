-- One row per test case of a probe run the API lists now, as of that run's current counts and score.
-- Computed in benchmarks_stg.int_test_cases, which other analytics views read too.
with

current_cases as (
    select * from benchmarks_stg.int_test_cases
),

final as (
    select * from current_cases
)

select * from final
