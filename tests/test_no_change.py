"""A load with nothing changed upstream reads the lists, finds them as the last complete load left them, and leaves
the warehouse alone (pipelines/load/change_check.py). Anything that could change the outcome sends it the normal way."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.api import settings
from pipelines.api.configuration import resolve_source_settings
from pipelines.api.stats import SourceStats
from pipelines.errors import ApiAuthError
from pipelines.load import change_check
from pipelines.load.dlt_runtime import use_dlt_configuration
from pipelines.load.runner import run_load
from pipelines.readers.report.data import read_report_data
from pipelines.readers.report.terminal import freshness
from pipelines.readers.status import collect_status
from pipelines.warehouse.destinations import engine_for_load
from pipelines.warehouse.duckdb.file import DuckDbFile, connect
from simulator.world import World
from tests.commands import run_cli
from tests.loads import load
from tests.snapshots import snapshot
from tests.warehouse_checks import assert_warehouse_matches, requested_test_case_paths


def list_requests(requests: list[dict]) -> Counter:
    return Counter((r["path"], r["query"]) for r in requests if not r["path"].endswith("/test-cases"))


def file_state(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def test_nothing_changed_reads_the_same_lists_and_leaves_the_warehouse_untouched(start_simulator, warehouse):
    sim = start_simulator(scale="tiny")
    db = warehouse
    load(db, sim.url)
    first_lists = list_requests(sim.requests)
    published, before = db.engine().published_identity(), snapshot(db)
    assert published, "a published warehouse has an identity"
    sim.clear_requests()

    result = load(db, sim.url)

    assert result.unchanged and result.test_cases == 0
    assert result.runs_listed == sum(1 for _ in World(scale="tiny").iter_runs())
    assert "Nothing changed upstream" in result.summary()
    assert list_requests(sim.requests) == first_lists, "the same list requests as a normal load, each once"
    assert requested_test_case_paths(sim.requests) == []
    assert result.requests == len(sim.requests)
    assert db.engine().published_identity() == published, "the published warehouse is not written to"
    assert snapshot(db) == before


def test_a_change_after_a_quiet_load_is_loaded_without_reading_the_lists_twice(start_simulator, warehouse):
    sim = start_simulator(scale="tiny")
    db = warehouse
    load(db, sim.url)
    assert load(db, sim.url).unchanged

    sim.set_epoch(1)
    sim.clear_requests()
    result = load(db, sim.url)

    assert not result.unchanged and result.runs_fetched > 0
    assert result.runs_listed == sum(1 for _ in World(scale="tiny", epoch=1).iter_runs())
    assert max(list_requests(sim.requests).values()) == 1, "bodies read by the check are reused, not re-read"
    assert result.requests == len(sim.requests)
    assert_warehouse_matches(db, World(scale="tiny", epoch=1))
    assert load(db, sim.url).unchanged


def test_status_counts_a_quiet_load_as_a_success(start_simulator, tmp_path):
    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    load(db, sim.url)
    after_first = collect_status(db).last_success_at
    assert load(db, sim.url).unchanged
    status = collect_status(db)
    assert status.problems == []
    assert status.last_attempt.status == "succeeded" and "Nothing changed" in status.last_attempt.summary
    assert status.last_success_at >= after_first


def change_types_option(sim, db, tmp_path, monkeypatch):
    return load(db, sim.url, type_ids=[1])


def change_an_environment_setting(sim, db, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__BENCHMARKS__REQUEST_TIMEOUT", "30")
    return load(db, sim.url)


def change_an_engine_setting(sim, db, tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE__DUCKDB_MEMORY_LIMIT", "300MB")
    return run_load(db, base_url=sim.url)


def change_the_config_file(sim, db, tmp_path, monkeypatch):
    (tmp_path / ".dlt").mkdir(exist_ok=True)
    (tmp_path / ".dlt" / "config.toml").write_text("[sources.benchmarks]\nworkers = 3\n", encoding="utf-8")
    return load(db, sim.url)


def write_to_the_published_file(sim, db, tmp_path, monkeypatch):
    with connect(db) as connection:
        connection.execute("create table main.notes (text varchar)")
    return load(db, sim.url)


def fail_a_load_after_it_changed_the_working_file(sim, db, tmp_path, monkeypatch):
    def broken_views(engine):
        raise RuntimeError("views broke")

    with monkeypatch.context() as patched:
        patched.setattr(DuckDbFile, "apply_views", broken_views)
        with pytest.raises(RuntimeError):
            load(db, sim.url, full_refresh=True)
    return load(db, sim.url)


def ask_for_a_full_refresh(sim, db, tmp_path, monkeypatch):
    return load(db, sim.url, full_refresh=True)


@pytest.mark.parametrize(
    "change",
    [
        change_types_option,
        change_an_environment_setting,
        change_an_engine_setting,
        change_the_config_file,
        write_to_the_published_file,
        fail_a_load_after_it_changed_the_working_file,
        ask_for_a_full_refresh,
    ],
)
def test_anything_that_could_change_the_outcome_means_a_normal_load(
    start_simulator, tmp_path, monkeypatch, change
):
    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    load(db, sim.url)
    result = change(sim, db, tmp_path, monkeypatch)
    assert not result.unchanged
    assert "Loaded" in result.summary()


def test_a_key_in_secrets_toml_serves_the_quiet_load_too_and_is_read_afresh(start_simulator, tmp_path):
    sim = start_simulator(scale="tiny")
    (tmp_path / ".dlt").mkdir()
    secrets = tmp_path / ".dlt" / "secrets.toml"
    secrets.write_text('[sources.benchmarks]\napi_key = "demo-key"\n', encoding="utf-8")
    db = tmp_path / "w.duckdb"
    first = run_cli("load", "--db", str(db), "--base-url", sim.url, cwd=tmp_path, key=None)
    assert first.returncode == 0 and first.stdout.startswith("Loaded"), first.stderr
    second = run_cli("load", "--db", str(db), "--base-url", sim.url, cwd=tmp_path, key=None)
    assert second.returncode == 0 and second.stdout.startswith("Nothing changed upstream"), second.stderr
    secrets.write_text('[sources.benchmarks]\napi_key = "another-key"\n', encoding="utf-8")
    third = run_cli("load", "--db", str(db), "--base-url", sim.url, cwd=tmp_path, key=None)
    assert third.returncode == 3 and "rejected the key" in third.stderr, "the key is resolved by dlt every load"


def test_a_key_changed_in_the_environment_is_sent_by_the_next_quiet_load(start_simulator, tmp_path, monkeypatch):
    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    run_load(db, base_url=sim.url)
    monkeypatch.setenv("SOURCES__BENCHMARKS__API_KEY", "another-key")
    with pytest.raises(ApiAuthError, match="rejected the key"):
        run_load(db, base_url=sim.url)


QUIET_LOAD = """
import sys
from tests.loads import load
result = load(sys.argv[1], sys.argv[2])
print(result.unchanged, *sorted(module for module in ("dlt", "duckdb") if module in sys.modules))
"""
REPOSITORY = Path(__file__).resolve().parent.parent


def test_a_quiet_load_resolves_its_settings_with_dlt_and_opens_no_database(start_simulator, tmp_path):
    """dlt resolves the settings of every load, the quiet one too; finding nothing changed needs no DuckDB."""
    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    load(db, sim.url)
    result = subprocess.run([sys.executable, "-c", QUIET_LOAD, str(db), sim.url], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    assert result.stdout.split() == ["True", "dlt"], result.stderr


def test_a_key_the_api_rejects_leaves_the_decision_to_the_normal_load(start_simulator, tmp_path):
    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    load(db, sim.url)
    another_key = resolve_source_settings(base_url=sim.url, api_key="another-key")
    check = change_check.check_unchanged(engine_for_load("duckdb", db), another_key, SourceStats())
    assert not check.unchanged and check.prefetched is None


def test_the_fingerprint_holds_no_key_and_is_not_written_after_a_vanished_run(start_simulator, tmp_path):
    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    load(db, sim.url)
    engine = DuckDbFile(db)
    text = change_check.fingerprint_path(engine).read_text(encoding="utf-8")
    assert "demo-key" not in text and '"base_url"' in text

    change_check.forget(engine)
    source_settings = resolve_source_settings(base_url=sim.url)
    change_check.remember(engine, source_settings, SourceStats(runs_vanished=1))
    assert not change_check.fingerprint_path(engine).exists()


def test_the_check_and_the_load_take_their_settings_from_dlts_own_configuration(tmp_path, monkeypatch):
    """Both use resolve_source_settings, which asks dlt's providers in dlt's order: explicit values, the environment,
    secrets.toml, config.toml, then the source's defaults. No lookup of our own can disagree with dlt's."""
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text("[sources.benchmarks]\nworkers = 3\nrequest_timeout = 7\n")
    (tmp_path / ".dlt" / "secrets.toml").write_text('[sources.benchmarks]\napi_key = "from-secrets"\nworkers = 4\n')
    monkeypatch.delenv("SOURCES__BENCHMARKS__API_KEY")
    monkeypatch.setenv("SOURCES__BENCHMARKS__REQUEST_TIMEOUT", "9")
    use_dlt_configuration()  # as run_load does first
    resolved = resolve_source_settings(base_url="http://127.0.0.1:9")
    assert (resolved.api_key, resolved.workers, resolved.request_timeout) == ("from-secrets", 4, 9)
    assert resolved.base_url == "http://127.0.0.1:9" and resolved.max_attempts == settings.DEFAULT_MAX_ATTEMPTS


def test_the_report_says_when_the_api_was_last_checked(start_simulator, tmp_path):
    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    load(db, sim.url)
    assert load(db, sim.url).unchanged
    data = read_report_data(db)
    assert data.checked_at is not None and data.checked_at >= data.last_load_at.replace(microsecond=0)

    later = dataclasses.replace(data, checked_at=data.last_load_at + timedelta(hours=3))
    text = freshness(later, now=data.last_load_at + timedelta(hours=4))
    assert "(240 min ago)" in text or "(4.0 h ago)" in text
    assert "nothing had changed" in text and "(60 min ago)" in text
    assert "Checked" not in freshness(data, now=data.last_load_at + timedelta(hours=4))


def test_an_api_down_during_the_check_fails_cleanly_and_the_next_quiet_load_still_takes_the_short_way(
    start_simulator, tmp_path
):
    from pipelines.errors import ApiUnavailableError

    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    options = {"max_attempts": 2, "backoff_max": 0.1}
    load(db, sim.url, source_options=options)
    published = file_state(db)
    sim.set_fail_rate(1.0)
    with pytest.raises(ApiUnavailableError, match="after 2 attempts"):
        load(db, sim.url, source_options=options)
    assert file_state(db) == published
    sim.set_fail_rate(0.0)
    assert load(db, sim.url, source_options=options).unchanged
