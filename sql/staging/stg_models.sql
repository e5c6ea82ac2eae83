-- One row per model ever seen in GET /models. is_removed: absent from the latest read of the list.
with

source as (
    select * from benchmarks_raw.models
),

renamed as (
    select
        id as model_id,
        name,
        provider,
        benchmark_date,
        url,
        last_seen_at,
        last_seen_at < max(last_seen_at) over () as is_removed,
        nul_replaced
    from source
)

select * from renamed
