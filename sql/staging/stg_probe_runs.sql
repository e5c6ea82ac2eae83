-- One row per probe run ever seen. is_removed: not in the latest read of its benchmark type's run lists
-- (the run vanished, or its model left that type).
with

source as (
    select * from benchmarks_raw.probe_runs
),

latest_reads as (
    select
        benchmark_type_id,
        max(last_read_at) as last_read_at
    from benchmarks_raw.run_scopes
    group by benchmark_type_id
),

renamed as (
    select
        source.id as probe_run_id,
        source.model_id,
        source.benchmark_type_id,
        source.probe_id,
        source.probe_name,
        source.probe_category_id,
        source.probe_category_name,
        source.created_at,
        source.total_count,
        source.passed_count,
        source.failed_count,
        source.total_count - source.passed_count - source.failed_count as error_count,
        source.score,
        source.signature,
        source.last_seen_at,
        source.last_seen_at < coalesce(latest_reads.last_read_at, source.last_seen_at) as is_removed,
        source.nul_replaced
    from source
    left join latest_reads
        on source.benchmark_type_id = latest_reads.benchmark_type_id
)

select * from renamed
