-- One row per model the API lists now, with its details aggregated over all benchmark types.
with

all_models as (
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
        all_models.model_id,
        all_models.name,
        all_models.provider,
        all_models.benchmark_date,
        all_models.url,
        overall_details.description,
        overall_details.total_count,
        overall_details.passed_count,
        overall_details.failed_count
    from all_models
    left join overall_details
        on all_models.model_id = overall_details.model_id
    where not all_models.is_removed
)

select * from final
