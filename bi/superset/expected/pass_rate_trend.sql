-- Chart "Pass rate over time": 100 * passed / (passed + failed) per UTC day, every model and type, every run.
select
    day,
    100.0 * sum(passed) / nullif(sum(passed) + sum(failed), 0) as "pass rate %"
from analytics.pass_rate_trend
group by day
order by day asc nulls last
