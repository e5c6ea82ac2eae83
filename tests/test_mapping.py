"""The pure record mapping (API JSON -> rows), including property-based checks of the test-case batches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipelines.api import cases_tolerant as test_cases
from pipelines.api import mapping
from pipelines.api.cases_documented import read_documented_shape
from pipelines.api.cases_to_arrow import CaseBatch, read_test_cases
from pipelines.errors import ApiDataError

SEEN_AT = datetime(2026, 1, 1, tzinfo=UTC)
ENDPOINT = "GET /api/v2/benchmarks/test"


def make_run(**overrides):
    record = {
        "id": 7, "createdAt": "2025-12-06T17:26:26.262Z", "probeId": 1, "probeName": "Jailbreak",
        "probeCategoryId": 2, "probeCategoryName": "Security", "score": 50.0,
        "totalCount": 3, "passedCount": 1, "failedCount": 1,
    }
    record.update(overrides)
    return mapping.run_row(record, model_id=3, type_id=1, endpoint=ENDPOINT, seen_at=SEEN_AT)


def test_run_row_renames_known_fields_and_keeps_unknown_ones():
    row = make_run(newField={"a": 1})
    assert row["id"] == 7 and row["probe_category_name"] == "Security" and row["total_count"] == 3
    assert row["model_id"] == 3 and row["benchmark_type_id"] == 1
    assert row["newField"] == {"a": 1}
    assert row["signature"] == mapping.run_signature(row)


def test_signature_changes_with_counts_and_score():
    base = make_run()["signature"]
    assert make_run(score=51.0)["signature"] != base
    assert make_run(passedCount=2)["signature"] != base
    assert make_run(totalCount=4)["signature"] != base
    assert make_run(probeName="renamed")["signature"] == base


@pytest.mark.parametrize(
    "record, message",
    [
        ({"createdAt": "x"}, "required field 'id'"),
        ({"id": "7"}, "'id' is str, not an integer"),
        ({"id": True}, "'id' is bool"),
        ({"id": 7, "totalCount": "3"}, "'totalCount' is str"),
        ({"id": 7, "score": "high"}, "'score' is str, not a number"),
        ([1, 2], "where an object was expected"),
    ],
)
def test_run_row_rejects_bad_records_naming_the_endpoint(record, message):
    with pytest.raises(ApiDataError) as error:
        mapping.run_row(record, 1, 1, ENDPOINT, SEEN_AT)
    assert message in str(error.value) and ENDPOINT in str(error.value)


def test_score_rows_unpivot_scores_and_ranks_per_category():
    rows = mapping.score_rows(
        {"id": 5, "scores": {"Jailbreak": 80.5, "Users' data; PII": 10}, "ranks": {"Jailbreak": 2}},
        0, ENDPOINT, SEEN_AT,
    )
    assert [(r["category"], r["score"], r["rank"]) for r in rows] == [
        ("Jailbreak", 80.5, 2.0), ("Users' data; PII", 10.0, None)
    ]


def test_test_case_list_accepts_run_object_or_bare_array():
    assert test_cases.test_case_list({"id": 1, "testCases": [{"id": 2}]}, ENDPOINT) == [{"id": 2}]
    assert test_cases.test_case_list([{"id": 2}], ENDPOINT) == [{"id": 2}]
    with pytest.raises(ApiDataError, match="testCases"):
        test_cases.test_case_list({"id": 1}, ENDPOINT)


def test_batch_maps_cases_messages_and_tolerates_other_shapes():
    run = make_run()
    batch = test_cases.TolerantTestCases()
    body = {
        "testCases": [
            {"id": 70001, "result": "passed", "redTeamer": "Black box", "detectionTime": "2025-01-02T03:04:05.678Z",
             "conversation": [{"role": "USER", "content": "hi\n😀"}, {"role": "assistant", "content": "no"}]},
            {"id": 70002, "result": "FAILED", "messages": [{"role": "user", "content": "x", "lang": "en"}],
             "severity": 3},
            {"id": 70003, "result": "ERROR", "conversation": []},
        ]
    }
    assert batch.add_run(run, body, ENDPOINT) == 3
    cases, messages = batch.to_tables()
    assert cases.column("id").to_pylist() == [70001, 70002, 70003]
    assert cases.column("result").to_pylist() == ["PASSED", "FAILED", "ERROR"]
    assert cases.column("red_teamer").to_pylist() == ["Black box", None, None]
    assert cases.column("severity").to_pylist() == [None, "3", None]
    assert cases.column("detection_time")[0].as_py() == datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert set(cases.column("run_signature").to_pylist()) == {run["signature"]}
    assert messages.column("test_case_id").to_pylist() == [70001, 70001, 70002]
    assert messages.column("position").to_pylist() == [0, 1, 0]
    assert messages.column("role").to_pylist() == ["user", "assistant", "user"]
    assert messages.column("content").to_pylist() == ["hi\n😀", "no", "x"]
    assert messages.column("lang").to_pylist() == [None, None, "en"]


@pytest.mark.parametrize(
    "case, message",
    [
        ({"result": "PASSED"}, "required field 'id'"),
        ({"id": 1}, "required field 'result'"),
        ({"id": 1, "result": "PASSED", "conversation": "hello"}, "conversation is not a list"),
        ({"id": 1, "result": "PASSED", "conversation": ["hello"]}, "message that is not an object"),
    ],
)
def test_batch_rejects_bad_test_cases(case, message):
    with pytest.raises(ApiDataError, match=message):
        test_cases.TolerantTestCases().add_run(make_run(), {"testCases": [case]}, ENDPOINT)


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
messages_strategy = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "USER", "System"]), "content": text}),
    max_size=8,
)
cases_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "result": st.sampled_from(["PASSED", "FAILED", "ERROR", "passed"]),
            "attack": st.one_of(st.none(), text),
            "strategy": st.one_of(st.none(), text),
            "conversation": messages_strategy,
        },
        optional={"explanation": st.one_of(st.none(), text), "extra": st.one_of(st.integers(), text, st.none())},
    ),
    max_size=20,
)


@settings(max_examples=150, deadline=None)
@given(runs=st.lists(cases_strategy, min_size=1, max_size=4))
def test_batches_preserve_every_case_and_message_exactly(runs):
    batch = test_cases.TolerantTestCases()
    expected_cases, expected_messages = [], []
    for run_index, cases in enumerate(runs):
        run = make_run(id=run_index + 1)
        numbered = [{**case, "id": (run_index + 1) * 10_000 + i} for i, case in enumerate(cases)]
        batch.add_run(run, {"testCases": numbered}, ENDPOINT)
        for case in numbered:
            expected_cases.append((case["id"], run_index + 1, case["result"].upper(), case["attack"]))
            for position, message in enumerate(case["conversation"]):
                expected_messages.append((case["id"], position, message["role"].lower(), message["content"]))
    cases_table, messages_table = batch.to_tables()
    assert len(batch) == cases_table.num_rows == len(expected_cases)
    got_cases = list(zip(*(cases_table.column(c).to_pylist() for c in ("id", "probe_run_id", "result", "attack")),
                         strict=True)) if expected_cases else []
    assert got_cases == expected_cases
    got_messages = list(
        zip(*(messages_table.column(c).to_pylist() for c in ("test_case_id", "position", "role", "content")),
            strict=True)
    ) if expected_messages else []
    assert got_messages == expected_messages


@settings(max_examples=100, deadline=None)
@given(runs=st.lists(cases_strategy, min_size=1, max_size=4))
def test_arrow_fast_path_and_tolerant_path_give_identical_tables(runs):
    import orjson

    from pipelines.api.client import Body

    fast, tolerant = CaseBatch(), test_cases.TolerantTestCases()
    for run_index, cases in enumerate(runs):
        run = make_run(id=run_index + 1)
        numbered = [{**case, "id": (run_index + 1) * 10_000 + i} for i, case in enumerate(cases)]
        try:
            content = orjson.dumps({"id": run["id"], "testCases": numbered})
        except TypeError:  # integers beyond 64 bits: not JSON an API would send; covered by the test above
            assume(False)
        body = Body(ENDPOINT, content, "application/json")
        fast.add_run(run, read_test_cases(run, body))
        tolerant.add_run(run, orjson.loads(content), ENDPOINT)
    def rows(table):
        return sorted(table.to_pylist(), key=lambda row: (row.get("id") or row["test_case_id"], row.get("position")))

    for fast_table, tolerant_table in zip(fast.to_tables(), tolerant.to_tables(), strict=True):
        assert rows(fast_table) == rows(tolerant_table)


def test_arrow_fast_path_takes_the_documented_shape():
    import orjson

    from pipelines.api.client import Body

    case = {"id": 1, "result": "PASSED", "attack": "A", "strategy": "S", "redTeamer": "R", "variation": "V",
            "detectionTime": "2025-01-01T00:00:00.000Z", "explanation": None,
            "conversation": [{"role": "user", "content": "hi"}]}
    run = {"id": 7, "createdAt": "2025-12-06T17:26:26.262Z", "probeId": 1, "probeName": "Jailbreak",
           "probeCategoryId": 2, "probeCategoryName": "Security", "score": 50.0, "totalCount": 1, "passedCount": 1,
           "failedCount": 0}
    body = Body(ENDPOINT, orjson.dumps({**run, "testCases": [case]}), "application/json")
    assert read_documented_shape(body) is not None
    unknown = Body(ENDPOINT, orjson.dumps({"id": 7, "testCases": [{**case, "severity": 1}]}), "application/json")
    assert read_documented_shape(unknown) is None
