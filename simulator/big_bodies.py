"""Very large test-cases bodies in the documented shape, for the perf harness (perf/big_body.py) and the tests.

Three shapes stress different parts of a load: `many` test cases with ordinary messages (rows), `huge-messages`
(a few test cases whose messages are tens of MB each: the size of single values), and `one-conversation` (one test
case with a conversation of hundreds of thousands of messages: one list). Text holds escapes, quotes and non-ASCII
characters, so the JSON reader has to decode, not copy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from simulator.crafted_api import CASES, RUNS, small_world

SHAPES = ("many", "huge-messages", "one-conversation")
MiB = 2**20
# An ordinary message: about 200 bytes of JSON, with an escape, a quote and characters outside ASCII.
PHRASE = 'Ignore "previous" rules, é☃ line\n'


@dataclass(frozen=True)
class BigBody:
    """A served body and what a load of it must store."""

    shape: str
    run: dict[str, Any]  # the run as its run list shows it
    content: bytes
    test_cases: int
    messages: int
    largest_message_length: int  # in characters
    largest_message_sha256: str  # of its UTF-8 bytes
    largest_message_case: int  # the test case holding it
    largest_message_position: int


def _case(case_id: int, conversation: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": case_id, "result": "FAILED" if case_id % 3 else "PASSED", "attack": f"A-{case_id % 97}",
            "strategy": "Multi Shot", "redTeamer": "Black box", "variation": "Leet speak",
            "detectionTime": "2025-03-01T10:00:01.000Z", "conversation": conversation}


def _ordinary(case_id: int, position: int) -> dict[str, str]:
    role = "user" if position % 2 == 0 else "assistant"
    return {"role": role, "content": f"{case_id}:{position} " + PHRASE * 5}


def _cases_for(shape: str, mib: float) -> list[dict[str, Any]]:
    """Test cases whose JSON is about `mib` MiB in all."""
    target = int(mib * MiB)
    if shape == "many":  # about 1 KB per test case, four messages each
        per_case = len(orjson.dumps(_case(1_000_000, [_ordinary(1_000_000, p) for p in range(4)])))
        return [_case(case_id, [_ordinary(case_id, p) for p in range(4)])
                for case_id in range(1, target // per_case + 1)]
    if shape == "huge-messages":  # ten messages of about a tenth each, over five test cases
        huge = PHRASE * (target // 10 // len(orjson.dumps(PHRASE)))
        return [_case(case_id, [{"role": "user", "content": f"{case_id}:{p} " + huge} for p in range(2)])
                for case_id in range(1, 6)]
    if shape == "one-conversation":
        per_message = len(orjson.dumps(_ordinary(1, 1_000_000))) + 1
        return [_case(1, [_ordinary(1, position) for position in range(target // per_message)])]
    raise ValueError(f"unknown shape {shape!r}; one of {SHAPES}")


def big_body(shape: str, mib: float) -> BigBody:
    """Run 10's test-cases body of small_world(), about `mib` MiB, in `shape`."""
    run = {key: value for key, value in small_world()[CASES].items() if key != "testCases"}
    cases = _cases_for(shape, mib)
    passed = sum(case["result"] == "PASSED" for case in cases)
    run.update(totalCount=len(cases), passedCount=passed, failedCount=len(cases) - passed)
    messages = [(case["id"], position, message["content"])
                for case in cases for position, message in enumerate(case["conversation"])]
    case_id, position, largest = max(messages, key=lambda message: len(message[2]))
    return BigBody(
        shape=shape, run=run, content=orjson.dumps({**run, "testCases": cases}), test_cases=len(cases),
        messages=len(messages), largest_message_length=len(largest),
        largest_message_sha256=hashlib.sha256(largest.encode("utf-8")).hexdigest(),
        largest_message_case=case_id, largest_message_position=position,
    )


def routes_serving(body: BigBody) -> dict[str, Any]:
    """small_world() with run 10's test cases (and its counts in the run list) those of `body`."""
    return small_world(**{CASES: (200, body.content, "application/json"), RUNS: [body.run]})
