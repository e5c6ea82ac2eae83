-- Chart "Regressions": in the view's own order (ordinal 1 = the largest drop).
select
    m.name as model_name,
    t.name as benchmark_type_name,
    r.probe_name,
    r.previous_pass_rate_pct,
    r.latest_pass_rate_pct,
    r.delta_pct,
    r.significant
from analytics.regressions as r
inner join analytics.models as m on r.model_id = m.model_id
inner join analytics.benchmark_types as t on r.benchmark_type_id = t.benchmark_type_id
order by r.ordinal asc nulls last
