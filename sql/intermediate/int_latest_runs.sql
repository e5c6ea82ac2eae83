-- One row per model, benchmark type and probe: its latest run (by created_at, ties: the larger run id).
-- The "current" figures of every pass-rate view are computed from these runs.
with

runs as (
    select * from benchmarks_stg.int_runs
),

final as (
    select
        probe_run_id,
        model_id,
        benchmark_type_id,
        probe_id,
        probe_name,
        probe_category_id,
        probe_category_name,
        created_at,
        total_count,
        passed_count,
        failed_count,
        error_count,
        score,
        signature,
        last_seen_at,
        is_removed
    from runs
    where recency = 1
)

select * from final
