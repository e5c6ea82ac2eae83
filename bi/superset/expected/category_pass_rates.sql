-- Chart "Pass rate by probe category": 100 * passed / (passed + failed) over every model and type, per category.
select
    probe_category_name,
    100.0 * sum(passed) / nullif(sum(passed) + sum(failed), 0) as "pass rate %"
from analytics.category_pass_rates
group by probe_category_name
order by probe_category_name asc nulls last
