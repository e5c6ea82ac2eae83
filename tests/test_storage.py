"""The published file's storage format: readable by DuckDB 1.1 and later by default, configurable, and a file in
another format (say DuckDB 2.0's, written by an earlier version of this project) converted once by the next load."""

from __future__ import annotations

import pytest

from pipelines.warehouse import settings
from pipelines.warehouse.duckdb.storage import storage_tag, tag_of_version
from simulator.crafted_api import CraftedApi, small_world
from tests.commands import HoldingReader, assert_one_line_error, run_cli
from tests.loads import load
from tests.snapshots import snapshot

STORAGE_SETTING = "WAREHOUSE__DUCKDB_STORAGE_VERSION"


def test_a_new_warehouse_is_in_duckdb_1_1_storage_by_default(tmp_path):
    db = tmp_path / "w.duckdb"
    with CraftedApi(small_world()) as api:
        load(db, api.url)
    assert settings.DEFAULT_DUCKDB_STORAGE_VERSION == "v1.1.0"
    assert storage_tag(db) == tag_of_version("v1.1.0", tmp_path) != tag_of_version("latest", tmp_path)


def test_the_storage_version_is_a_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(STORAGE_SETTING, "v1.4.0")
    db = tmp_path / "w.duckdb"
    with CraftedApi(small_world()) as api:
        load(db, api.url)
    assert storage_tag(db) == tag_of_version("v1.4.0", tmp_path) == "v1.4.0+"


def test_a_warehouse_in_another_format_is_converted_once_with_nothing_lost(tmp_path):
    db = tmp_path / "w.duckdb"
    with CraftedApi(small_world()) as api:
        first = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path, env={STORAGE_SETTING: "latest"})
        assert first.returncode == 0, first.stderr
        assert storage_tag(db) == tag_of_version("latest", tmp_path)
        before = snapshot(db)
        reader = HoldingReader(db, "test_case_messages")

        converting = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
        again = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)

    assert reader.count_again() == reader.first_count, "a reader of the old file keeps working"
    assert converting.returncode == 0, converting.stderr
    notice, summary = converting.stdout.strip().splitlines()
    assert notice.startswith("Converted the warehouse from DuckDB storage format") and "v1.1.0" in notice
    assert summary.startswith("Nothing changed upstream") or summary.startswith("Loaded")
    assert storage_tag(db) == tag_of_version("v1.1.0", tmp_path)
    assert snapshot(db) == before
    assert again.returncode == 0 and "Converted" not in again.stdout and len(again.stdout.splitlines()) == 1


def test_an_unknown_storage_version_is_a_configuration_error(tmp_path):
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path,
                         env={STORAGE_SETTING: "v9.9"})
    assert_one_line_error(result, 2, "warehouse.duckdb_storage_version", "v9.9")


@pytest.mark.parametrize("version", ["v1.1.0", "v1.4.0"])
def test_files_created_for_a_version_get_its_format(tmp_path, version):
    assert tag_of_version(version, tmp_path) is not None
