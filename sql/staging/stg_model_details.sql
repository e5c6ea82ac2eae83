-- One row per model per scope (benchmark_type_id NULL = aggregated over all types).
-- is_removed: the model was not listed in the latest read of that scope.
with

source as (
    select * from benchmarks_raw.model_details
),

renamed as (
    select
        model_id,
        nullif(scope_type_id, 0) as benchmark_type_id,
        description,
        total_count,
        passed_count,
        failed_count,
        config,
        metadata,
        last_seen_at,
        last_seen_at < max(last_seen_at) over (partition by scope_type_id) as is_removed,
        nul_replaced
    from source
)

select * from renamed
