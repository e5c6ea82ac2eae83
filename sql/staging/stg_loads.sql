-- One row per load that dlt completed into this warehouse (dlt's own load records).
with

source as (
    select * from benchmarks_raw._dlt_loads
),

renamed as (
    select
        cast(load_id as varchar) as load_id,
        to_timestamp(cast(load_id as double)) as started_at,
        inserted_at as finished_at,
        cast(status as integer) as status_code
    from source
)

select * from renamed
