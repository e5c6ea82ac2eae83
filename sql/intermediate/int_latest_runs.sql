-- One row per model, benchmark type and probe: its latest run (by created_at, ties: the larger run id).
-- The "current" figures of every pass-rate view are computed from these runs.
with

runs as (
    select * from benchmarks_stg.int_runs
),

final as (
    select * exclude (recency)
    from runs
    where recency = 1
)

select * from final
