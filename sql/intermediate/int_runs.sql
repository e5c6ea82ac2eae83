-- One row per probe run the API lists now, of a model it lists now: every run, for trends and history.
with

runs as (
    select * from benchmarks_stg.stg_probe_runs
    where not is_removed
),

current_models as (
    select model_id from benchmarks_stg.stg_models
    where not is_removed
),

final as (
    select
        runs.*,
        row_number() over (
            partition by runs.model_id, runs.benchmark_type_id, runs.probe_id
            order by runs.created_at desc nulls last, runs.probe_run_id desc nulls last
        ) as recency
    from runs
    inner join current_models
        on runs.model_id = current_models.model_id
)

select * from final
