-- One row per completed load, newest first: when it ran and how many test cases it brought.
-- test_cases_loaded counts the test case rows that load wrote and that are still there (a run re-fetched later
-- moves its rows to the newer load).
with

loads as (
    select * from benchmarks_stg.stg_loads
),

cases_per_load as (
    select
        load_id,
        count(*) as test_cases_loaded
    from benchmarks_stg.stg_test_cases
    group by load_id
),

final as (
    select
        loads.load_id,
        loads.started_at,
        loads.finished_at,
        case when loads.status_code = 0 then 'loaded' else 'status ' || loads.status_code end as status,
        cast(coalesce(cases_per_load.test_cases_loaded, 0) as bigint) as test_cases_loaded
    from loads
    left join cases_per_load
        on loads.load_id = cases_per_load.load_id
)

select * from final
order by started_at desc nulls last
