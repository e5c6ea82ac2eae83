-- One row per model the API lists now, with its details aggregated over all benchmark types.
with

models as (
    select * from benchmarks_stg.stg_models
),

overall_details as (
    select * from benchmarks_stg.stg_model_details
    where
        benchmark_type_id is null
        and not is_removed
),

final as (
    select
        models.model_id,
        models.name,
        models.provider,
        models.benchmark_date,
        models.url,
        overall_details.description,
        overall_details.total_count,
        overall_details.passed_count,
        overall_details.failed_count
    from models
    left join overall_details
        on models.model_id = overall_details.model_id
    where not models.is_removed
)

select * from final
