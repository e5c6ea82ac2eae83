-- Chart "Leaderboard (95% intervals)": the ranking across all types first, then each type's (by name), each by rank.
select
    benchmark_type_name,
    rank,
    model_name,
    provider,
    pass_rate,
    pass_rate_low,
    pass_rate_high,
    test_cases
from analytics.leaderboard
order by case when benchmark_type_id is null then 0 else 1 end, benchmark_type_name, rank
