-- One row per model per scope (benchmark_type_id NULL = aggregated over all types).
-- is_removed: the model was not listed in the latest read of that scope.
with

source as (
    select * from benchmarks_raw.model_details
),

renamed as (
    select
        cast(model_id as bigint) as model_id,
        cast(nullif(scope_type_id, 0) as bigint) as benchmark_type_id,
        cast(description as varchar) as description,
        cast(total_count as bigint) as total_count,
        cast(passed_count as bigint) as passed_count,
        cast(failed_count as bigint) as failed_count,
        config,
        metadata,
        last_seen_at,
        last_seen_at < max(last_seen_at) over (partition by scope_type_id) as is_removed
    from source
)

select * from renamed
