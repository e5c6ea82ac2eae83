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
        cast(source.id as bigint) as probe_run_id,
        cast(source.model_id as bigint) as model_id,
        cast(source.benchmark_type_id as bigint) as benchmark_type_id,
        cast(source.probe_id as bigint) as probe_id,
        cast(source.probe_name as varchar) as probe_name,
        cast(source.probe_category_id as bigint) as probe_category_id,
        cast(source.probe_category_name as varchar) as probe_category_name,
        source.created_at,
        cast(source.total_count as bigint) as total_count,
        cast(source.passed_count as bigint) as passed_count,
        cast(source.failed_count as bigint) as failed_count,
        cast(source.total_count - source.passed_count - source.failed_count as bigint) as error_count,
        cast(source.score as double) as score,
        source.signature,
        source.last_seen_at,
        source.last_seen_at < coalesce(latest_reads.last_read_at, source.last_seen_at) as is_removed
    from source
    left join latest_reads
        on source.benchmark_type_id = latest_reads.benchmark_type_id
)

select * from renamed
