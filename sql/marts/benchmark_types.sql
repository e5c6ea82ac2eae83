-- One row per benchmark type the API lists now.
with

all_benchmark_types as (
    select * from benchmarks_stg.stg_benchmark_types
),

final as (
    select
        benchmark_type_id,
        name,
        description
    from all_benchmark_types
    where not is_removed
)

select * from final
