-- One row per message of a current test case's conversation; position is 0-based, content byte-exact.
with

messages as (
    select * from benchmarks_stg.stg_test_case_messages
),

current_cases as (
    select test_case_id from benchmarks_stg.int_test_cases
),

final as (
    select
        messages.test_case_id,
        messages.probe_run_id,
        messages.position,
        messages.role,
        messages.content
    from messages
    where messages.test_case_id in (select current_cases.test_case_id from current_cases)
)

select * from final
