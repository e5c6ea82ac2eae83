-- One row per benchmark type ever seen. is_removed: absent from the latest read of GET /types.
with

source as (
    select * from benchmarks_raw.benchmark_types
),

renamed as (
    select
        id as benchmark_type_id,
        name,
        description,
        last_seen_at,
        last_seen_at < max(last_seen_at) over () as is_removed,
        nul_replaced
    from source
)

select * from renamed
