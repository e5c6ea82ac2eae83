-- Chart "Pass rate by probe category": passed / (passed + failed) over every model and type, per category.
select
    probe_category_name,
    sum(passed) * 1.0 / nullif(sum(passed) + sum(failed), 0) as "pass rate"
from analytics.category_pass_rates
group by probe_category_name
order by probe_category_name
