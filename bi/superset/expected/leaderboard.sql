-- Chart "Leaderboard (95% intervals)": the ranking across all types first, then each type's (by name), each by rank;
-- the percentages as the view rounds them (one decimal, the same on both engines).
select
    benchmark_type_name,
    rank,
    model_name,
    provider,
    pass_rate_pct,
    pass_rate_low_pct,
    pass_rate_high_pct,
    test_cases
from analytics.leaderboard
order by benchmark_type_id is not null asc, benchmark_type_name asc nulls last, rank asc nulls last
