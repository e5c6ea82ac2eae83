"""Shared assertions: what the analytics views should hold, derived independently from the simulator's World (never
by re-running the views' SQL), checked against what the warehouse holds (tests/warehouses.py reads it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.snapshots import normalised, snapshot, values
from tests.warehouses import Warehouse

if TYPE_CHECKING:
    from simulator.world import World

# The views that mirror the API's entities one to one (the pass-rate views are checked in tests/test_views.py).
ENTITY_VIEWS = ("benchmark_types", "models", "model_scores", "probe_runs", "test_cases", "test_case_messages")


def ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def expected_views(world: World, type_ids: list[int] | None = None) -> dict[str, set[tuple]]:
    """Rows each entity view should hold for `world`, computed from the simulator's data, not from our SQL."""
    types = world.types()
    selected = [t["id"] for t in types] if type_ids is None else type_ids
    expected: dict[str, set[tuple]] = {name: set() for name in ENTITY_VIEWS}
    expected["benchmark_types"] = {(t["id"], t["name"], t["description"]) for t in types}
    for model in world.models(None):
        details = world.model_details(model["id"], None)
        expected["models"].add(
            (model["id"], model["name"], model["provider"], ts(model.get("benchmarkDate")), model.get("url"),
             details.get("description"), details["totalCount"], details["passedCount"], details["failedCount"])
        )
    for scope in [None, *selected]:
        for model in world.models(scope):
            details = world.model_details(model["id"], scope)
            scores = details.get("scores") or {}
            ranks = details.get("ranks") or {}
            for category in set(scores) | set(ranks):
                rank = ranks.get(category)
                expected["model_scores"].add(
                    (model["id"], scope, category, _float(scores.get(category)), _float(rank))
                )
    for model_id, type_id, run in world.iter_runs():
        if type_id not in selected:
            continue
        expected["probe_runs"].add(
            (run["id"], model_id, type_id, run["probeId"], run["probeName"], run["probeCategoryId"],
             run["probeCategoryName"], ts(run["createdAt"]), run["totalCount"], run["passedCount"],
             run["failedCount"], run["totalCount"] - run["passedCount"] - run["failedCount"], float(run["score"]))
        )
        body = world.test_cases(model_id, run["id"])
        for case in body["testCases"]:
            expected["test_cases"].add(
                (case["id"], run["id"], model_id, type_id, case["result"], case["attack"], case["strategy"],
                 case["redTeamer"], case["variation"], ts(case.get("detectionTime")))
            )
            for position, message in enumerate(case["conversation"]):
                expected["test_case_messages"].add(
                    (case["id"], run["id"], position, message["role"], message["content"])
                )
    return expected


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def assert_warehouse_matches(target: Warehouse | Path, world: World, type_ids: list[int] | None = None) -> None:
    """Every entity view holds exactly the rows `world` gives (on any engine), none twice."""
    expected = expected_views(world, type_ids)
    taken = snapshot(target)
    for view in ENTITY_VIEWS:
        rows = taken[view].rows
        assert len(rows) == len(set(rows)), f"analytics.{view} has duplicate rows"
        actual = set(rows)
        want = {tuple(normalised(value) for value in row) for row in expected[view]}
        missing = want - actual
        extra = actual - want
        assert not missing and not extra, (
            f"analytics.{view}: {len(missing)} rows missing (e.g. {sorted(missing, key=repr)[:2]}), "
            f"{len(extra)} unexpected (e.g. {sorted(extra, key=repr)[:2]})"
        )


def requested_test_case_paths(requests: list[dict]) -> list[str]:
    return [r["path"] for r in requests if r["path"].endswith("/test-cases")]


def raw_duplicates(target: Warehouse | Path) -> list[tuple]:
    """Keys found more than once in the bulk raw tables: [(test_cases by id, test_case_messages by position)]."""
    return values(target, "select (select count(*) from (select id from {raw}.test_cases group by id having "
                          "count(*) > 1) as c), (select count(*) from (select test_case_id, position from "
                          "{raw}.test_case_messages group by test_case_id, position having count(*) > 1) as m)")


def assert_started_at_is_the_load_id(history: list[dict[str, Any]]) -> None:
    """`load_history.started_at` is dlt's load id (seconds since the epoch, with a fraction) to the millisecond, on
    every engine: Spark's transpiled view once dropped the fraction (pipelines/warehouse/sql_dialects.py)."""
    assert history, "no load recorded"
    for load in history:
        started = load["started_at"]
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
        expected = datetime.fromtimestamp(float(load["load_id"]), UTC)
        assert abs((started - expected).total_seconds()) < 0.001, (load["load_id"], started)
