-- One row per model, benchmark type and category: the API's own score and rank for that category.
-- benchmark_type_id NULL = the score aggregated across all benchmark types.
with

scores as (
    select * from benchmarks_stg.stg_model_scores
),

current_models as (
    select model_id from benchmarks_stg.stg_models
    where not is_removed
),

final as (
    select
        scores.model_id,
        scores.benchmark_type_id,
        scores.category,
        scores.score,
        scores.rank
    from scores
    inner join current_models
        on scores.model_id = current_models.model_id
    where not scores.is_removed
)

select * from final
