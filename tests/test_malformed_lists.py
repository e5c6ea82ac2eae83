"""Malformed means malformed: a list or body that is not what it must be, an id or count outside 64 bits, a
timestamp that is not a date. Each is refused with exit 5, naming the endpoint and the record, and nothing is
written; never taken as "no runs", "gone" or NULL. A 404 alone means an entity is gone.

Every case here was taken as data before (exit 0, a silent NULL, a crash, or exit 6 from dlt without the endpoint).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipelines.api.client import ApiClient, RequestCounter
from pipelines.api.configuration import resolve_source_settings
from pipelines.api.lists import ApiLists
from pipelines.errors import ApiDataError
from pipelines.progress import LoadProgress
from simulator.crafted_api import API, CASES, RUNS, CraftedApi, small_world
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load
from tests.snapshots import snapshot

WORLD = small_world()
RUN = WORLD[RUNS][0]
MODEL = WORLD[f"{API}/models"][0]
DETAILS = WORLD[f"{API}/models/1"]
CASE = WORLD[CASES]["testCases"][0]
BIG, SMALL = 2**63, -(2**63) - 1  # one past each end of BIGINT
OUTSIDE = "outside the 64-bit integer range"
NOT_A_DATE = "is not an ISO-8601 date and time"


def exact(value) -> tuple[int, bytes, None]:
    """A route answering `value` as JSON exactly (integers beyond 64 bits included, which orjson cannot write)."""
    return 200, json.dumps(value).encode(), None


def case_body(**case) -> tuple[int, bytes, None]:
    """Run 10's test cases in the documented shape (Arrow's fast path), its one test case changed by `case`."""
    return exact({**RUN, "testCases": [{**CASE, **case}]})


# (routes to override, what the error says, the endpoint it names)
MALFORMED = [
    # Lists and bodies that are not lists or objects
    pytest.param({RUNS: (200, b"null", None)}, "returned null where a JSON array was expected", RUNS,
                 id="run-list-null"),
    pytest.param({f"{API}/models/1": (200, b"null", None)}, "returned null where an object was expected",
                 f"{API}/models/1", id="details-null"),
    pytest.param({CASES: (200, b"null", None)}, "returned null where an object was expected", CASES,
                 id="test-cases-null"),
    pytest.param({CASES: exact({**RUN, "testCases": None})}, "'testCases' is null, not a JSON array", CASES,
                 id="test-case-list-null"),
    pytest.param({CASES: exact(RUN)}, "without a 'testCases' list", CASES, id="test-case-list-missing"),
    # Ids and counts outside int64, in every list and in both test-case paths
    pytest.param({RUNS: exact([{**RUN, "id": BIG}])}, OUTSIDE, RUNS, id="run-id"),
    pytest.param({RUNS: exact([{**RUN, "totalCount": BIG}])}, OUTSIDE, RUNS, id="run-count"),
    pytest.param({RUNS: exact([{**RUN, "probeId": SMALL}])}, OUTSIDE, RUNS, id="run-probe-id-below"),
    pytest.param({f"{API}/types": exact([{"id": SMALL, "name": "Security"}])}, OUTSIDE, f"{API}/types",
                 id="type-id-below"),
    pytest.param({f"{API}/models": exact([{**MODEL, "id": BIG}])}, OUTSIDE, f"{API}/models", id="model-id"),
    pytest.param({f"{API}/models?benchmarkTypeId=1": exact([{**MODEL, "id": BIG}])}, OUTSIDE,
                 f"{API}/models?benchmarkTypeId=1", id="model-id-per-type"),
    pytest.param({f"{API}/models/1": exact({**DETAILS, "passedCount": BIG})}, OUTSIDE, f"{API}/models/1",
                 id="details-count"),
    pytest.param({CASES: case_body(id=BIG)}, OUTSIDE, CASES, id="test-case-id-fast-path"),
    pytest.param({CASES: case_body(id=SMALL)}, OUTSIDE, CASES, id="test-case-id-below"),
    pytest.param({CASES: exact([{**CASE, "id": 2**64 + 1}])}, OUTSIDE, CASES, id="test-case-id-tolerant-path"),
    # Timestamps: required ones missing or not dates, optional ones present but not dates
    pytest.param({RUNS: [{**RUN, "createdAt": "not a date"}]}, f"'createdAt' {NOT_A_DATE}", RUNS,
                 id="created-at-not-a-date"),
    pytest.param({RUNS: [{**RUN, "createdAt": 20250301}]}, f"'createdAt' {NOT_A_DATE}", RUNS,
                 id="created-at-a-number"),
    pytest.param({RUNS: [{**RUN, "createdAt": None}]}, "without the required field 'createdAt'", RUNS,
                 id="created-at-null"),
    pytest.param({RUNS: [{key: value for key, value in RUN.items() if key != "createdAt"}]},
                 "without the required field 'createdAt'", RUNS, id="created-at-missing"),
    pytest.param({f"{API}/models": [{**MODEL, "benchmarkDate": "soon"}]}, f"'benchmarkDate' {NOT_A_DATE}",
                 f"{API}/models", id="benchmark-date"),
    pytest.param({f"{API}/models/1": {**DETAILS, "benchmarkDate": "2025-02-30T00:00:00Z"}},
                 f"'benchmarkDate' {NOT_A_DATE}", f"{API}/models/1", id="details-benchmark-date"),
    pytest.param({CASES: case_body(detectionTime="yesterday")}, f"'detectionTime' {NOT_A_DATE}", CASES,
                 id="detection-time"),
    pytest.param({CASES: case_body(detectionTime="")}, f"'detectionTime' {NOT_A_DATE}", CASES,
                 id="detection-time-empty"),
]


@pytest.mark.parametrize("override, message, path", MALFORMED)
def test_malformed_answers_are_refused_naming_the_endpoint_and_the_record(tmp_path, override, message, path):
    db = tmp_path / "w.duckdb"
    with CraftedApi(small_world(**override)) as api, pytest.raises(ApiDataError) as error:
        load(db, api.url)
    text = str(error.value)
    assert error.value.exit_code == 5
    assert message in text and f"GET {path}" in text, text
    assert text.endswith(("}", "]", "...", "null")), f"the record is quoted at the end: {text}"
    assert not db.exists(), "nothing is published"


def test_the_change_check_refuses_a_malformed_list_as_the_load_does(crafted_file):
    """The change check reads the lists without dlt's pipeline (change_check.py): a `null` run list must not pass
    there as a list with no runs, and the load after it must say what a load that skips the check says."""
    db = crafted_file.db  # small_world() as a load makes it
    before = snapshot(db)
    with CraftedApi(small_world(**{RUNS: (200, b"null", None)})) as api:
        source_settings = resolve_source_settings(base_url=api.url)
        with ApiClient(source_settings, counter=RequestCounter()) as client, \
                pytest.raises(ApiDataError, match="returned null") as check:
            ApiLists(client, None, datetime.now(UTC), LoadProgress()).read_all()
        with pytest.raises(ApiDataError) as checked_load:
            load(db, api.url)
        with pytest.raises(ApiDataError) as full_load:
            load(db, api.url, full_refresh=True)
    assert str(check.value) == str(checked_load.value) == str(full_load.value)
    assert snapshot(db) == before


def test_a_null_run_list_is_one_line_and_exit_5_for_the_user(crafted_file, tmp_path):
    db = crafted_file.db  # small_world() as a load makes it
    before = snapshot(db)
    with CraftedApi(small_world(**{RUNS: (200, b"null", None)})) as api:
        result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
    assert_one_line_error(result, 5, f"GET {RUNS}", "returned null where a JSON array was expected")
    assert snapshot(db) == before
