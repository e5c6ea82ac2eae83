-- One row per model, scope (benchmark_type_id NULL = aggregated) and category, with the API's score and rank.
-- is_removed: not in the latest read of that scope.
with

source as (
    select * from benchmarks_raw.model_scores
),

renamed as (
    select
        model_id,
        nullif(scope_type_id, 0) as benchmark_type_id,
        category,
        score,
        rank,
        last_seen_at,
        last_seen_at < max(last_seen_at) over (partition by scope_type_id) as is_removed,
        nul_replaced
    from source
)

select * from renamed
