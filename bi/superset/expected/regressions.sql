-- Chart "Regressions": the largest drop first (delta is never NULL here), ties by the latest run.
select
    m.name as model_name,
    t.name as benchmark_type_name,
    r.probe_name,
    r.previous_pass_rate,
    r.latest_pass_rate,
    r.delta,
    r.significant
from analytics.regressions as r
inner join analytics.models as m on r.model_id = m.model_id
inner join analytics.benchmark_types as t on r.benchmark_type_id = t.benchmark_type_id
order by r.delta, r.latest_run_id
