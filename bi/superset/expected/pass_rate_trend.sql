-- Chart "Pass rate over time": passed / (passed + failed) per UTC day, every model and type, every run.
select
    day,
    sum(passed) * 1.0 / nullif(sum(passed) + sum(failed), 0) as "pass rate"
from analytics.pass_rate_trend
group by day
order by day
