-- One row per probe run the API lists now (every run, not only the latest per probe).
-- error_count = total_count - passed_count - failed_count.
with

runs as (
    select * from benchmarks_stg.stg_probe_runs
),

current_models as (
    select model_id from benchmarks_stg.stg_models
    where not is_removed
),

final as (
    select
        runs.probe_run_id,
        runs.model_id,
        runs.benchmark_type_id,
        runs.probe_id,
        runs.probe_name,
        runs.probe_category_id,
        runs.probe_category_name,
        runs.created_at,
        runs.total_count,
        runs.passed_count,
        runs.failed_count,
        runs.error_count,
        runs.score
    from runs
    inner join current_models
        on runs.model_id = current_models.model_id
    where not runs.is_removed
)

select * from final
