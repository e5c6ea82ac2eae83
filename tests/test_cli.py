"""The command line as a user (or cron) runs it: a real subprocess, real HTTP, a real DuckDB file."""

from __future__ import annotations

import pytest

from simulator.crafted_api import API, CraftedApi, small_world
from tests.commands import SECRET, STAGE_LINE, assert_one_line_error, run_cli
from tests.snapshots import snapshot


def test_load_prints_one_summary_line_and_works_from_any_directory(tmp_path):
    elsewhere = tmp_path / "cron-cwd"
    elsewhere.mkdir()
    db = tmp_path / "data" / "warehouse.duckdb"
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Loaded 3 test cases (3 messages) from 1 new or changed runs of 1")
    assert db.exists()
    assert list(elsewhere.iterdir()) == [], "the load must not leave files in the working directory"
    stages = [STAGE_LINE.match(line).group(0).split()[-1] for line in result.stderr.splitlines()]
    assert stages == ["extract", "normalize", "load", "commit", "views", "publish"]


def test_quiet_load_prints_nothing(tmp_path):
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, "--quiet", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    assert SECRET not in result.stdout + result.stderr


def test_rejected_key_names_the_setting(tmp_path):
    routes = {path: (401, {"error": {"message": "Unauthorized", "code": "UNAUTHORIZED"}}, None)
              for path in small_world()}
    with CraftedApi(routes) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path)
    assert_one_line_error(result, 3, "rejected the key", "SOURCES__BENCHMARKS__API_KEY")


def test_missing_key_names_the_setting(tmp_path):
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path, key=None)
    assert_one_line_error(result, 3, "No API key", "SOURCES__BENCHMARKS__API_KEY")


def test_base_url_from_the_environment(tmp_path):
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path,
                         env={"SOURCES__BENCHMARKS__BASE_URL": api.url})
    assert result.returncode == 0, result.stderr


def test_verbose_shows_the_traceback(tmp_path):
    routes = small_world(**{f"{API}/types": (200, b"<html>oops</html>", "text/html")})
    with CraftedApi(routes) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, "--verbose",
                         cwd=tmp_path)
    assert result.returncode == 5
    assert "Traceback" in result.stderr and "not valid JSON" in result.stderr


@pytest.mark.parametrize(
    "override, fragment",
    [
        ({f"{API}/types": (200, b"<html>Maintenance</html>", "text/html")}, "not valid JSON"),
        ({f"{API}/models/1/runs?benchmarkTypeId=1": [{"createdAt": "2025-01-01T00:00:00Z"}]},
         "without the required field 'id'"),
        ({f"{API}/models/1/runs/10/test-cases": {"id": 10, "testCases": [{"id": 5, "attack": "x"}]}},
         "required field 'result'"),
        ({f"{API}/models": [{"id": "one", "name": "x", "provider": "y"}]}, "not an integer"),
        ({f"{API}/types": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}, "listed id 1 twice"),
    ],
    ids=["html-200", "run-without-id", "case-without-result", "string-id", "duplicate-ids"],
)
def test_bad_responses_fail_clearly_and_leave_the_warehouse_as_it_was(crafted_file, tmp_path, override, fragment):
    db = crafted_file.db  # small_world() as a load makes it
    before = snapshot(db)
    with CraftedApi(small_world(**override)) as api:
        result = run_cli("load", "--db", str(db), "--base-url", api.url, "--full-refresh", cwd=tmp_path)
    assert_one_line_error(result, 5, fragment)
    assert snapshot(db) == before


def test_bad_types_option_is_a_usage_error(tmp_path):
    result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--types", "1,x", cwd=tmp_path)
    assert_one_line_error(result, 2, "--types")


def test_the_key_is_written_to_no_file(tmp_path):
    """Success and failure: no file the load leaves behind (warehouse, dlt's working files, traces) holds the key."""
    db = tmp_path / "data" / "w.duckdb"
    with CraftedApi(small_world()) as api:
        assert run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path).returncode == 0
    broken = small_world(**{f"{API}/models": (500, {"error": {"message": "boom", "code": "X"}}, None)})
    with CraftedApi(broken) as api:
        result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path,
                         env={"SOURCES__BENCHMARKS__MAX_ATTEMPTS": "1"})
    assert result.returncode == 4
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) > 10
    leaking = [str(path) for path in files if SECRET.encode() in path.read_bytes()]
    assert leaking == []


def test_the_working_folder_does_not_grow_with_every_load(tmp_path):
    from pipelines.warehouse import settings
    from tests.loads import load

    db = tmp_path / "w.duckdb"
    with CraftedApi(small_world()) as api:
        for _ in range(settings.LOADED_PACKAGES_KEPT + 3):
            load(db, api.url, full_refresh=True)  # without it, nothing changed: nothing is written
    loaded = list((tmp_path / ".w.duckdb.dlt" / "benchmarks_warehouse" / "load" / "loaded").iterdir())
    assert len(loaded) == settings.LOADED_PACKAGES_KEPT
    assert not list(tmp_path.rglob("*.parquet")), "loaded data files are deleted"
