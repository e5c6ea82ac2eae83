"""The pass-rate views, checked against figures computed here in Python from the simulator's own data."""

from __future__ import annotations

import math
from collections import defaultdict

import duckdb
import pytest
import yaml

from pipelines.errors import ExitCode
from pipelines.warehouse import views as warehouse_views
from simulator.world import World
from tests.commands import assert_one_line_error, run_cli
from tests.snapshots import assert_same_relations, values
from tests.snapshots import rows as view_rows
from tests.warehouse_checks import assert_started_at_is_the_load_id
from tests.warehouses import ENGINES, Warehouses, as_warehouse, on_engines

SCALE = "small"
TOLERANCE = 1e-6
Z = 1.96


def wilson(passed: int, failed: int) -> tuple[float | None, float | None]:
    n = passed + failed
    if n == 0:
        return None, None
    p = passed / n
    centre = p + Z * Z / (2 * n)
    margin = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    denominator = 1 + Z * Z / n
    return max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator)


def rate(passed: int, failed: int) -> float | None:
    return passed / (passed + failed) if passed + failed else None


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOLERANCE


class Expected:
    """Everything the views should say about one World, computed without SQL."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.runs = [(m, t, run) for m, t, run in world.iter_runs()]
        by_probe: dict[tuple, list[dict]] = defaultdict(list)
        for m, t, run in self.runs:
            by_probe[(m, t, run["probeId"])].append(run)
        for runs in by_probe.values():
            runs.sort(key=lambda r: (r["createdAt"], r["id"]), reverse=True)
        self.by_probe = by_probe
        self.latest = {key: runs[0] for key, runs in by_probe.items()}

    def model_pass_rates(self) -> dict[tuple, dict]:
        totals: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
        for (m, t, _), run in self.latest.items():
            entry = totals[(m, t)]
            entry["probes"] += 1
            entry["test_cases"] += run["totalCount"]
            entry["passed"] += run["passedCount"]
            entry["failed"] += run["failedCount"]
            entry["errors"] += run["totalCount"] - run["passedCount"] - run["failedCount"]
        return {key: dict(value) for key, value in totals.items()}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, prebuilt):
    """One small world loaded once (epoch 0; tests/prebuilt.py); the tests only read it."""
    built = prebuilt.world(Warehouses("duckdb", tmp_path_factory.mktemp("views")), (0,), SCALE)
    return built.warehouse.db, Expected(World(scale=SCALE))


def test_model_pass_rates(loaded):
    db, expected = loaded
    want = expected.model_pass_rates()
    rows = view_rows(db, "model_pass_rates")
    assert {(r["model_id"], r["benchmark_type_id"]) for r in rows} == set(want)
    names = {m["id"]: (m["name"], m["provider"]) for m in expected.world.models()}
    for row in rows:
        w = want[(row["model_id"], row["benchmark_type_id"])]
        assert (row["probes"], row["test_cases"], row["passed"], row["failed"], row["errors"]) == (
            w["probes"], w["test_cases"], w["passed"], w["failed"], w["errors"])
        assert (row["model_name"], row["provider"]) == names[row["model_id"]]
        low, high = wilson(w["passed"], w["failed"])
        assert close(row["pass_rate"], rate(w["passed"], w["failed"]))
        assert close(row["pass_rate_low"], low) and close(row["pass_rate_high"], high)


def test_error_only_model_has_null_rates_and_ranks_last(loaded):
    db, expected = loaded
    model_id, type_id = expected.world.edge_cases()["error_only_model"]
    row = next(r for r in view_rows(db, "model_pass_rates")
               if (r["model_id"], r["benchmark_type_id"]) == (model_id, type_id))
    assert row["passed"] == row["failed"] == 0 and row["errors"] > 0
    assert row["pass_rate"] is None and row["pass_rate_low"] is None and row["pass_rate_high"] is None
    board = [r for r in view_rows(db, "leaderboard") if r["benchmark_type_id"] == type_id]
    assert max(board, key=lambda r: r["rank"])["model_id"] == model_id


def test_category_pass_rates(loaded):
    db, expected = loaded
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (m, t, _), run in expected.latest.items():
        entry = totals[(m, t, run["probeCategoryId"])]
        entry[0] += run["passedCount"]
        entry[1] += run["failedCount"]
        entry[2] += run["totalCount"] - run["passedCount"] - run["failedCount"]
    rows = view_rows(db, "category_pass_rates")
    assert len(rows) == len(totals)
    for row in rows:
        passed, failed, errors = totals[(row["model_id"], row["benchmark_type_id"], row["probe_category_id"])]
        assert (row["passed"], row["failed"], row["errors"]) == (passed, failed, errors)
        low, high = wilson(passed, failed)
        assert close(row["pass_rate"], rate(passed, failed))
        assert close(row["pass_rate_low"], low) and close(row["pass_rate_high"], high)
    assert any(r["probe_category_name"] == "Users' data; PII" for r in rows)


def test_probe_pass_rates_ties_and_single_runs(loaded):
    db, expected = loaded
    rows = {(r["model_id"], r["benchmark_type_id"], r["probe_id"]): r for r in view_rows(db, "probe_pass_rates")}
    assert set(rows) == set(expected.latest)
    for key, run in expected.latest.items():
        row = rows[key]
        assert row["latest_run_id"] == run["id"]
        assert row["runs"] == len(expected.by_probe[key])
        assert (row["passed"], row["failed"]) == (run["passedCount"], run["failedCount"])
        assert close(row["pass_rate"], rate(run["passedCount"], run["failedCount"]))
    edges = expected.world.edge_cases()
    tie_a, tie_b = edges["tied_runs"]
    assert any(r["latest_run_id"] == max(tie_a, tie_b) for r in rows.values())
    assert not any(r["latest_run_id"] == min(tie_a, tie_b) for r in rows.values())
    model_id, type_id, probe_id, _ = edges["single_run_probe"]
    assert rows[(model_id, type_id, probe_id)]["runs"] == 1
    error_row = next(r for r in rows.values() if r["latest_run_id"] == edges["error_only_run"])
    assert error_row["pass_rate"] is None and error_row["errors"] > 0


def test_strategy_pass_rates(loaded):
    db, expected = loaded
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (m, t, _), run in expected.latest.items():
        for case in expected.world.test_cases(m, run["id"])["testCases"]:
            entry = totals[(m, t, case["strategy"], case["redTeamer"], case["variation"])]
            entry[{"PASSED": 0, "FAILED": 1, "ERROR": 2}[case["result"]]] += 1
    rows = view_rows(db, "strategy_pass_rates")
    assert len(rows) == len(totals)
    for row in rows:
        key = (row["model_id"], row["benchmark_type_id"], row["strategy"], row["red_teamer"], row["variation"])
        passed, failed, errors = totals[key]
        assert (row["passed"], row["failed"], row["errors"]) == (passed, failed, errors)
        assert close(row["pass_rate"], rate(passed, failed))


def test_leaderboard_order_per_type_and_overall(loaded):
    db, expected = loaded
    per_type = expected.model_pass_rates()
    overall: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (m, _), w in per_type.items():
        overall[m][0] += w["passed"]
        overall[m][1] += w["failed"]
        overall[m][2] += w["test_cases"]

    def ranking(entries: dict[int, tuple[int, int]]) -> list[int]:
        def key(model_id: int):
            passed, failed = entries[model_id]
            low, _ = wilson(passed, failed)
            value = rate(passed, failed)
            return (low is None, -(low or 0), value is None, -(value or 0), model_id)
        return sorted(entries, key=key)

    rows = view_rows(db, "leaderboard")
    types = {t for _, t in per_type}
    for type_id in types:
        want = ranking({m: (w["passed"], w["failed"]) for (m, t), w in per_type.items() if t == type_id})
        got = [r["model_id"] for r in sorted((r for r in rows if r["benchmark_type_id"] == type_id),
                                             key=lambda r: r["rank"])]
        assert got == want
    want_overall = ranking({m: (v[0], v[1]) for m, v in overall.items()})
    overall_rows = sorted((r for r in rows if r["benchmark_type_id"] is None), key=lambda r: r["rank"])
    assert [r["model_id"] for r in overall_rows] == want_overall
    assert [r["rank"] for r in overall_rows] == list(range(1, len(want_overall) + 1))
    for row in overall_rows:
        passed, failed, test_cases = overall[row["model_id"]]
        assert row["test_cases"] == test_cases and row["benchmark_type_name"] == "All types"
        assert close(row["pass_rate_low"], wilson(passed, failed)[0])


def test_pass_rate_trend_uses_every_run(loaded):
    db, expected = loaded
    daily: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for m, t, run in expected.runs:
        entry = daily[(m, t, run["createdAt"][:10])]
        entry[0] += run["passedCount"]
        entry[1] += run["failedCount"]
    rows = view_rows(db, "pass_rate_trend")
    assert len(rows) == len(daily)
    for row in rows:
        passed, failed = daily[(row["model_id"], row["benchmark_type_id"], row["day"].isoformat())]
        assert (row["passed"], row["failed"]) == (passed, failed)
        assert close(row["pass_rate"], rate(passed, failed))


def test_regressions(loaded):
    db, expected = loaded
    want = {}
    for key, runs in expected.by_probe.items():
        if len(runs) < 2:
            continue
        latest, previous = runs[0], runs[1]
        latest_rate = rate(latest["passedCount"], latest["failedCount"])
        previous_rate = rate(previous["passedCount"], previous["failedCount"])
        if latest_rate is None or previous_rate is None or latest_rate >= previous_rate:
            continue
        significant = wilson(latest["passedCount"], latest["failedCount"])[1] < wilson(
            previous["passedCount"], previous["failedCount"])[0]
        want[key] = (previous["id"], latest["id"], latest_rate - previous_rate, significant)
    rows = view_rows(db, "regressions")
    assert want, "the small world should contain regressions"
    got = {(r["model_id"], r["benchmark_type_id"], r["probe_id"]): r for r in rows}
    assert set(got) == set(want)
    for key, (previous_id, latest_id, delta, significant) in want.items():
        row = got[key]
        assert (row["previous_run_id"], row["latest_run_id"], row["significant"]) == (previous_id, latest_id,
                                                                                      significant)
        assert close(row["delta"], delta) and row["delta"] < 0
    model_id, type_id, probe_id, _ = expected.world.edge_cases()["single_run_probe"]
    assert (model_id, type_id, probe_id) not in got


def test_data_quality_is_empty_on_clean_data_and_load_history_counts(loaded):
    db, expected = loaded
    assert view_rows(db, "data_quality") == []
    history = view_rows(db, "load_history")
    assert len(history) == 1 and history[0]["status"] == "loaded"
    assert history[0]["test_cases_loaded"] == expected.world.counts()["test_cases"]
    assert history[0]["finished_at"] >= history[0]["started_at"]
    assert_started_at_is_the_load_id(history)


def test_every_view_has_a_unique_grain_and_rates_in_range(loaded):
    db, _ = loaded
    grains = {
        "model_pass_rates": ("model_id", "benchmark_type_id"),
        "category_pass_rates": ("model_id", "benchmark_type_id", "probe_category_id"),
        "probe_pass_rates": ("model_id", "benchmark_type_id", "probe_id"),
        "strategy_pass_rates": ("model_id", "benchmark_type_id", "strategy", "red_teamer", "variation"),
        "leaderboard": ("benchmark_type_id", "rank"),
        "pass_rate_trend": ("model_id", "benchmark_type_id", "day"),
        "regressions": ("model_id", "benchmark_type_id", "probe_id"),
        "test_cases": ("test_case_id",),
        "test_case_messages": ("test_case_id", "position"),
        "probe_runs": ("probe_run_id",),
        "models": ("model_id",),
    }
    for view, grain in grains.items():
        rows = view_rows(db, view)
        keys = [tuple(r[c] for c in grain) for r in rows]
        assert len(keys) == len(set(keys)), view
        for row in rows:
            for column in ("pass_rate", "pass_rate_low", "pass_rate_high", "latest_pass_rate", "previous_pass_rate"):
                if row.get(column) is not None:
                    assert 0.0 <= row[column] <= 1.0, (view, column, row)
            if row.get("pass_rate_low") is not None:
                assert row["pass_rate_low"] - 1e-12 <= row["pass_rate"] <= row["pass_rate_high"] + 1e-12


def test_every_view_and_documented_column_has_a_comment(loaded):
    db, _ = loaded
    docs = yaml.safe_load((warehouse_views.SQL_DIR / "schema.yml").read_text())
    connection = duckdb.connect(str(db), read_only=True)
    try:
        views = dict(connection.execute(
            "select view_name, comment from duckdb_views() where schema_name = 'analytics'").fetchall())
        columns = {(t, c): comment for t, c, comment in connection.execute(
            "select table_name, column_name, comment from duckdb_columns() where schema_name = 'analytics'"
        ).fetchall()}
    finally:
        connection.close()
    assert set(views) == set(docs)
    assert all(views.values()), [v for v, c in views.items() if not c]
    for view, doc in docs.items():
        for column in doc.get("columns") or {}:
            assert columns.get((view, column)), f"{view}.{column} has no comment"


@on_engines("duckdb")
def test_schema_yml_lists_every_column_of_every_view_in_order(loaded_warehouse):
    """sql/schema.yml is the source of docs/views.md: a column added to a view and not to it would go unseen."""
    docs = yaml.safe_load((warehouse_views.SQL_DIR / "schema.yml").read_text())
    connection = duckdb.connect(str(loaded_warehouse.db), read_only=True)
    try:
        rows = connection.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'analytics' "
            "order by table_name, column_index").fetchall()
    finally:
        connection.close()
    columns: dict[str, list[str]] = defaultdict(list)
    for view, column in rows:
        columns[view].append(column)
    assert {view: list(doc.get("columns") or {}) for view, doc in docs.items()} == dict(columns)


@on_engines("duckdb")
def test_corrupted_raw_data_shows_in_data_quality(loaded_warehouse):
    db = loaded_warehouse.db  # the tiny world at epoch 0
    run_id = next(iter(World(scale="tiny").iter_runs()))[2]["id"]
    connection = duckdb.connect(str(db))
    try:
        connection.execute(
            "update benchmarks_raw.probe_runs set passed_count = total_count + 5 where id = ?", [run_id])
    finally:
        connection.close()
    warehouse_views.apply_views(as_warehouse(db).engine())
    checks = {(r["check_name"], r["entity_id"]) for r in view_rows(db, "data_quality")}
    assert checks == {("passed_failed_exceed_total", str(run_id)), ("test_cases_disagree_with_counts", str(run_id))}


def test_removed_runs_and_models_leave_every_view(warehouses, prebuilt):
    db = prebuilt.world(warehouses, (0, 1)).warehouse  # the tiny world loaded at epoch 0, then 1 (only read here)
    before, after = World(scale="tiny"), World(scale="tiny", epoch=1)
    removed_runs = {r["id"] for _, _, r in before.iter_runs()} - {r["id"] for _, _, r in after.iter_runs()}
    removed_model = before.edge_cases()["removed_model_at_epoch_1"]
    for view in ("probe_runs", "probe_pass_rates", "regressions"):
        for row in view_rows(db, view):
            run_ids = {row.get("probe_run_id"), row.get("latest_run_id"), row.get("previous_run_id")}
            assert not run_ids & removed_runs, (view, row)
    for view in ("models", "model_pass_rates", "leaderboard", "category_pass_rates", "pass_rate_trend"):
        assert removed_model not in {r["model_id"] for r in view_rows(db, view)}, view
    assert removed_model in {r[0] for r in values(db, "select id from {raw}.models")}
    assert len(view_rows(db, "load_history")) == 2


@pytest.mark.parametrize("command", [("load",), ("query", "select 1"), ("status",)])
def test_a_file_named_analytics_is_refused_by_every_command(tmp_path, command):
    """In a file named analytics.duckdb, DuckDB names the catalog `analytics` too and `analytics.models` is
    ambiguous: a BI tool's (or the README's) queries would fail there, so no command accepts that name."""
    result = run_cli(*command, "--db", "analytics.duckdb", cwd=tmp_path)
    assert_one_line_error(result, ExitCode.INVALID_SETTING, "--db analytics.duckdb", "catalog 'analytics'")
    assert not (tmp_path / "analytics.duckdb").exists()


def test_every_view_is_the_same_on_every_engine(tmp_path, request, prebuilt):
    """One SQL source for every engine: every view, row by row, after a first load and after an incremental one
    that adds, re-scores and removes runs (removed runs must leave the views on both)."""
    server = request.getfixturevalue("postgres")
    on = {engine: Warehouses(engine, tmp_path / engine, server) for engine in ENGINES}
    for epochs in ((0,), (0, 1)):
        reference = prebuilt.expected(on["duckdb"], epochs, raw=False)
        for engine in ENGINES[1:]:
            assert_same_relations(reference, prebuilt.expected(on[engine], epochs, raw=False),
                                  what=f"{engine} after loading epochs {epochs}")
            loads = [len(view_rows(prebuilt.world(on[name], epochs).warehouse, "load_history"))
                     for name in ("duckdb", engine)]
            assert loads[0] == loads[1] == len(epochs), f"load_history on {engine} after epochs {epochs}"
