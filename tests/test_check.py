"""`check`, the regression gate, on every engine: on a crafted world whose probes have two or more runs, one probe
regressing beyond the default thresholds and one kept out by each threshold; and `status` / `load --format json`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from pipelines.errors import ConfigError, ExitCode, UnhealthyWarehouseError
from pipelines.readers.check import Thresholds, find_regressions, regression_line
from simulator.crafted_api import CraftedApi, runs_world
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load_routes
from tests.regressions_world import FEW_CASES, OVERLAPPING, REGRESSED, RUNS, SMALL_DROP, WORLD, expected_line
from tests.snapshots import rows
from tests.warehouses import Warehouse, on_engines


@pytest.fixture()
def gated(warehouses, prebuilt) -> Warehouse:
    """WORLD as a load makes it (a copy of one loaded once per engine)."""
    return warehouses.copy(prebuilt.crafted(warehouses, "runs_world", WORLD))


def probes(regressions: list[dict]) -> list[int]:
    return [regression["probe_id"] for regression in regressions]


def test_each_threshold_keeps_its_probe_out_and_the_figures_are_the_view_s(gated):
    engine = gated.engine(reading=True)
    found = find_regressions(engine, Thresholds())
    assert [regression_line(regression) for regression in found] == [expected_line(REGRESSED)]
    assert probes(find_regressions(engine, Thresholds(max_drop_points=9.9))) == [REGRESSED, SMALL_DROP]
    assert probes(find_regressions(engine, Thresholds(min_cases=20))) == [FEW_CASES, REGRESSED]
    assert probes(find_regressions(engine, Thresholds(max_drop_points=40))) == []  # exactly 40 is not beyond 40
    assert probes(find_regressions(engine, Thresholds(max_drop_points=39.9))) == [REGRESSED]

    everything = find_regressions(engine, Thresholds(max_drop_points=0, min_cases=0))
    view = {row["probe_id"]: row for row in rows(gated, "regressions")}
    assert sorted(view) == [REGRESSED, SMALL_DROP, FEW_CASES, OVERLAPPING], "IMPROVED is no regression"
    assert sorted(probes(everything)) == sorted(probe for probe, row in view.items() if row["significant"])
    for regression in everything:
        row = view[regression["probe_id"]]
        assert {key: value for key, value in regression.items() if key in row} == {
            key: row[key] for key in regression if key in row}, "the view's own figures"
        passed, failed = RUNS[regression["probe_id"]][-1]
        assert (regression["latest_passed_count"], regression["latest_failed_count"]) == (passed, failed)
        assert regression["latest_pass_rate_high"] < regression["previous_pass_rate_low"]


def test_since_last_load_reports_a_regression_once(gated):
    engine = gated.engine(reading=True)
    assert probes(find_regressions(engine, Thresholds(), since_last_load=True)) == [REGRESSED]

    load_routes(gated, WORLD)  # nothing changed upstream: nothing arrived
    assert find_regressions(engine, Thresholds(), since_last_load=True) == []
    assert probes(find_regressions(engine, Thresholds())) == [REGRESSED], "still there, without the option"

    another_run = {**RUNS, SMALL_DROP: [*RUNS[SMALL_DROP], (450, 50)]}
    load_routes(gated, runs_world(another_run))  # a load that brought another probe's run
    assert find_regressions(engine, Thresholds(), since_last_load=True) == []

    worse_again = {**another_run, REGRESSED: [*RUNS[REGRESSED], (10, 90)]}
    load_routes(gated, runs_world(worse_again))
    found = find_regressions(engine, Thresholds(), since_last_load=True)
    assert [regression_line(regression) for regression in found] == [expected_line(REGRESSED, worse_again)]
    newest_load = max(rows(gated, "load_history"), key=lambda load: load["started_at"])
    assert found[0]["latest_load_id"] == newest_load["load_id"]


@on_engines("duckdb")
def test_max_age_fails_like_status_on_a_stale_warehouse(gated):
    engine = gated.engine(reading=True)
    with pytest.raises(UnhealthyWarehouseError, match="the last successful load is .* old"):
        find_regressions(engine, Thresholds(), max_age=timedelta(0))
    assert probes(find_regressions(engine, Thresholds(), max_age=timedelta(hours=1))) == [REGRESSED]


def test_the_gate_and_the_json_outputs_from_the_command_line(warehouse, tmp_path):
    """As cron and a release pipeline run them: load (its summary as JSON), check, status."""
    def cli(*args: str):  # noqa: ANN202 - a CompletedProcess
        return run_cli(*args, *warehouse.cli_args, cwd=tmp_path, env=warehouse.env)

    with CraftedApi(WORLD) as api:
        loaded = cli("load", "--base-url", api.url, "--format", "json")
        unchanged = cli("load", "--base-url", api.url, "--format", "json")
    for result in (loaded, unchanged):
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.splitlines()) == 1, result.stdout
    first, second = json.loads(loaded.stdout), json.loads(unchanged.stdout)
    cases = sum(passed + failed for counts in RUNS.values() for passed, failed in counts)
    runs = sum(len(counts) for counts in RUNS.values())
    assert first | {"requests": 0, "seconds": 0} == {"outcome": "loaded", "runs_listed": runs, "runs_fetched": runs,
                                                     "test_cases": cases, "messages": 0, "requests": 0,
                                                     "seconds": 0, "notices": []}
    assert second["outcome"] == "unchanged" and second["runs_fetched"] == 0 and second["runs_listed"] == runs
    assert first["requests"] > second["requests"] > 0 and first["seconds"] > 0

    regressed = cli("check")
    assert (regressed.returncode, regressed.stdout, regressed.stderr) == (
        ExitCode.REGRESSION, expected_line(REGRESSED) + "\n", "")
    as_json = cli("check", "--format", "json")
    assert as_json.returncode == ExitCode.REGRESSION
    assert json.loads(as_json.stdout) == json.loads(json.dumps(
        find_regressions(warehouse.engine(reading=True), Thresholds()), default=str))
    quiet = cli("check", "--since-last-load", "--max-age", "1h")  # the last load brought nothing
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    nothing = cli("check", "--max-drop", "50", "--format", "json")
    assert (nothing.returncode, json.loads(nothing.stdout)) == (0, [])

    status = cli("status", "--format", "json")
    assert status.returncode == 0, status.stderr
    facts = json.loads(status.stdout)
    assert facts["healthy"] is True and facts["problems"] == [] and facts["loads"] == 1
    assert facts["warehouse"] == warehouse.engine().location and facts["age_seconds"] >= 0
    assert facts["last_attempt"]["status"] == "succeeded" and facts["last_attempt"]["wrote_data"] is False
    assert facts["view_rows"]["test_cases"] == len(rows(warehouse, "test_cases")) == cases

    stale, stale_status = cli("check", "--max-age", "0"), cli("status", "--max-age", "0", "--format", "json")
    assert_one_line_error(stale, stale_status.returncode, "not checked: the last successful load is")
    assert stale_status.returncode == ExitCode.FAILED and json.loads(stale_status.stdout)["healthy"] is False


@pytest.mark.parametrize("max_drop, min_cases, named", [
    ("ten", "30", "--max-drop"), ("-1", "30", "--max-drop"), ("101", "30", "--max-drop"), ("nan", "30", "--max-drop"),
    ("10", "1.5", "--min-cases"), ("10", "-3", "--min-cases"), ("10", "", "--min-cases"),
])
def test_a_bad_threshold_names_its_option(max_drop, min_cases, named):
    with pytest.raises(ConfigError, match=f"^{named} expects"):
        Thresholds.parse(max_drop, min_cases)


def test_a_bad_option_value_is_one_line_and_exit_2(tmp_path):
    for option, value in (("--max-drop", "ten"), ("--max-age", "soon")):
        result = run_cli("check", "--db", str(tmp_path / "none.duckdb"), option, value, cwd=tmp_path)
        assert_one_line_error(result, ExitCode.INVALID_SETTING, option)
    assert Thresholds.parse(" 12.5 ", "0") == Thresholds(12.5, 0)
