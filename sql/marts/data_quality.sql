-- One row per problem found in the loaded data; empty when the data is clean.
with

runs as (
    select * from benchmarks_stg.int_runs
),

all_runs as (
    select probe_run_id from benchmarks_stg.stg_probe_runs
),

loaded_cases as (
    select * from benchmarks_stg.int_test_cases
),

raw_cases as (
    select * from benchmarks_stg.stg_test_cases
),

current_models as (
    select * from benchmarks_stg.stg_models
    where not is_removed
),

counts_exceed_total as (
    select
        'passed_failed_exceed_total' as check_name,
        'probe_run' as entity,
        cast(probe_run_id as varchar) as entity_id,
        'passed ' || passed_count || ' + failed ' || failed_count || ' > total ' || total_count as detail
    from runs
    where passed_count + failed_count > total_count
),

negative_counts as (
    select
        'negative_count' as check_name,
        'probe_run' as entity,
        cast(probe_run_id as varchar) as entity_id,
        'total ' || total_count || ', passed ' || passed_count || ', failed ' || failed_count as detail
    from runs
    where least(total_count, passed_count, failed_count) < 0
),

case_counts as (
    select
        probe_run_id,
        count(*) as loaded,
        count(*) filter (where result = 'PASSED') as passed,
        count(*) filter (where result = 'FAILED') as failed
    from loaded_cases
    group by probe_run_id
),

cases_disagree as (
    select
        'test_cases_disagree_with_counts' as check_name,
        'probe_run' as entity,
        cast(runs.probe_run_id as varchar) as entity_id,
        'run says total/passed/failed ' || runs.total_count || '/' || runs.passed_count || '/' || runs.failed_count
        || ', loaded test cases ' || case_counts.loaded || '/' || case_counts.passed || '/' || case_counts.failed
            as detail
    from runs
    inner join case_counts
        on runs.probe_run_id = case_counts.probe_run_id
    where
        case_counts.loaded != runs.total_count
        or case_counts.passed != runs.passed_count
        or case_counts.failed != runs.failed_count
),

orphan_cases as (
    select
        'test_case_without_run' as check_name,
        'test_case' as entity,
        cast(raw_cases.test_case_id as varchar) as entity_id,
        'probe run ' || raw_cases.probe_run_id || ' is not loaded' as detail
    from raw_cases
    where raw_cases.probe_run_id not in (select all_runs.probe_run_id from all_runs)
),

undated_models as (
    select
        'model_without_benchmark_date' as check_name,
        'model' as entity,
        cast(current_models.model_id as varchar) as entity_id,
        coalesce(current_models.name, '(no name)') || ' has runs but no benchmark date' as detail
    from current_models
    where
        current_models.benchmark_date is null
        and current_models.model_id in (select runs.model_id from runs)
),

-- Text PostgreSQL cannot store: each U+0000 was replaced by U+FFFD; nul_replaced says how many, in which columns
-- (always NULL on DuckDB, which keeps text byte-exact).
replaced_text as (
    select
        'benchmark_type' as entity,
        cast(benchmark_type_id as varchar) as entity_id,
        nul_replaced
    from benchmarks_stg.stg_benchmark_types
    where nul_replaced is not null
    union all
    select
        'model' as entity,
        cast(model_id as varchar) as entity_id,
        nul_replaced
    from benchmarks_stg.stg_models
    where nul_replaced is not null
    union all
    select
        'model_detail' as entity,
        model_id || ':' || coalesce(cast(benchmark_type_id as varchar), 'all') as entity_id,
        nul_replaced
    from benchmarks_stg.stg_model_details
    where nul_replaced is not null
    union all
    select
        'model_score' as entity,
        model_id || ':' || coalesce(cast(benchmark_type_id as varchar), 'all') || ':' || category as entity_id,
        nul_replaced
    from benchmarks_stg.stg_model_scores
    where nul_replaced is not null
    union all
    select
        'probe_run' as entity,
        cast(probe_run_id as varchar) as entity_id,
        nul_replaced
    from benchmarks_stg.stg_probe_runs
    where nul_replaced is not null
    union all
    select
        'test_case' as entity,
        cast(test_case_id as varchar) as entity_id,
        nul_replaced
    from raw_cases
    where nul_replaced is not null
    union all
    select
        'message' as entity,
        test_case_id || ':' || position as entity_id,
        nul_replaced
    from benchmarks_stg.stg_test_case_messages
    where nul_replaced is not null
),

nul_characters as (
    select
        'nul_character_replaced' as check_name,
        entity,
        entity_id,
        'U+0000 replaced by U+FFFD: ' || nul_replaced as detail
    from replaced_text
),

final as (
    select * from counts_exceed_total
    union all
    select * from negative_counts
    union all
    select * from cases_disagree
    union all
    select * from orphan_cases
    union all
    select * from undated_models
    union all
    select * from nul_characters
)

select * from final
