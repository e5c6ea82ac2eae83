-- One row per message of a current test case's conversation; position is 0-based, content byte-exact.
with

messages as (
    select * from benchmarks_stg.stg_test_case_messages
),

final as (
    select
        messages.test_case_id,
        messages.probe_run_id,
        messages.position,
        messages.role,
        messages.content
    from messages
    where messages.test_case_id in (select test_cases.test_case_id from test_cases)
)

select * from final
