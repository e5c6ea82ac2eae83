-- One row per model ever seen in GET /models. is_removed: absent from the latest read of the list.
with

source as (
    select * from benchmarks_raw.models
),

renamed as (
    select
        cast(id as bigint) as model_id,
        cast(name as varchar) as name,
        cast(provider as varchar) as provider,
        benchmark_date,
        cast(url as varchar) as url,
        last_seen_at,
        last_seen_at < max(last_seen_at) over () as is_removed
    from source
)

select * from renamed
