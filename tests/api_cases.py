"""Cases shared by several test modules: API answers a load must refuse (tests/test_bad_input.py runs them on every
engine)."""

from __future__ import annotations

import json

import pytest

from simulator.crafted_api import API, CASES, RUNS, small_world


def exact_json(value) -> tuple[int, bytes, None]:  # noqa: ANN001
    """A route answering `value` as JSON, integers beyond 64 bits included (which orjson cannot write)."""
    return 200, json.dumps(value).encode(), None


RUN = small_world()[RUNS][0]
# (routes to override in small_world(), what the error says)
REJECTED = [
    pytest.param({CASES: (200, b'{"id": 10, "testCases": [', None)}, "not valid JSON", id="truncated-json"),
    pytest.param({RUNS: (200, b"<!DOCTYPE html><html><body>Service maintenance</body></html>", "text/html")},
                 "text/html", id="html-200"),
    pytest.param({CASES: (200, b'{"id": 10, "testCases": [{"id": 1, "result": "PASSED", "attack": "\xff\xfe"}]}',
                          None)}, "not valid JSON", id="invalid-utf8"),
    pytest.param({RUNS: [{"id": 10, "totalCount": "3", "passedCount": 1, "failedCount": 1}]}, "'totalCount' is str",
                 id="string-count"),
    pytest.param({f"{API}/types": [{"id": "1", "name": "Security"}]}, "'id' is str", id="string-id"),
    pytest.param({CASES: {"id": 10, "testCases": [{"id": 1}]}}, "required field 'result'", id="missing-result"),
    pytest.param({CASES: {"id": 10, "testCases": [{"id": 1, "result": "PASSED"}, {"id": 1, "result": "FAILED"}]}},
                 "twice", id="duplicate-case"),
    pytest.param({RUNS: [RUN, RUN]}, "listed id 10 twice", id="duplicate-run"),
    pytest.param({RUNS: (200, b"null", None)}, "returned null where a JSON array was expected", id="null-run-list"),
    pytest.param({CASES: (200, b"null", None)}, "returned null where an object was expected", id="null-test-cases"),
    pytest.param({RUNS: exact_json([{**RUN, "id": 2**63}])}, "outside the 64-bit integer range", id="int64-run-id"),
    pytest.param({CASES: exact_json({**RUN, "testCases": [{"id": -(2**63) - 1, "result": "PASSED"}]})},
                 "outside the 64-bit integer range", id="int64-case-id"),
    pytest.param({RUNS: [{**RUN, "createdAt": "not a date"}]}, "'createdAt' is not an ISO-8601",
                 id="created-at-not-a-date"),
]
