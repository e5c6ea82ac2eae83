-- One row per model, scope (benchmark_type_id NULL = aggregated) and category, with the API's score and rank.
-- is_removed: not in the latest read of that scope.
with

source as (
    select * from benchmarks_raw.model_scores
),

renamed as (
    select
        cast(model_id as bigint) as model_id,
        cast(nullif(scope_type_id, 0) as bigint) as benchmark_type_id,
        cast(category as varchar) as category,
        cast(score as double) as score,
        cast(rank as double) as rank,
        last_seen_at,
        last_seen_at < max(last_seen_at) over (partition by scope_type_id) as is_removed
    from source
)

select * from renamed
