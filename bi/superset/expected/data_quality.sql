-- Chart "Data quality": every problem found, by check, entity and id.
select
    check_name,
    entity,
    entity_id,
    detail
from analytics.data_quality
order by check_name asc nulls last, entity asc nulls last, entity_id asc nulls last, detail asc nulls last
