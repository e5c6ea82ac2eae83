"""Only our own files: a load changes, converts or replaces a file at --db only when this project created it; any
other file is refused (one line, exit 6) byte for byte untouched, with no working copy left to fail a later load.
Every path works, whatever characters it holds; a permission error is exit 6 naming the path; no DuckDB connection
of ours fetches or loads an extension by itself."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.warehouse import paths
from pipelines.warehouse.duckdb.configuration import DuckDbSettings
from pipelines.warehouse.duckdb.file import DuckDbFile, connect
from simulator.crafted_api import CraftedApi, small_world
from tests.commands import assert_one_line_error, run_cli

ODD_NAMES = ["it's", 'say "hi"', "two words", "semi;colon", "ünïcødé €", "$HOME", "new\nline", "-leading"]


def _users_own_duckdb(path: Path) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table main.orders as select range as id from range(5)")
        connection.execute("create schema analytics")
        connection.execute("create table analytics.revenue as select 42 as total")


def _empty_duckdb(path: Path) -> None:
    duckdb.connect(str(path)).close()


def _sqlite(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("create table notes (text)")


FOREIGN_FILES = {
    "users_duckdb": _users_own_duckdb,
    "empty_duckdb": _empty_duckdb,
    "zero_bytes": lambda path: path.write_bytes(b""),
    "text": lambda path: path.write_text("my notes\n"),
    "sqlite": _sqlite,
    "directory": lambda path: (path.mkdir(), (path / "inside.txt").write_text("mine")),
}


def _state(path: Path) -> object:
    """What must not change: every byte and the modification time (of each file inside, for a directory)."""
    files = sorted(p for p in path.rglob("*")) if path.is_dir() else [path]
    return [(str(p), hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in files]


@pytest.mark.parametrize("kind", FOREIGN_FILES)
def test_a_file_this_project_did_not_create_is_refused_untouched(tmp_path, kind):
    db = tmp_path / "benchmarks.duckdb"
    FOREIGN_FILES[kind](db)
    before = _state(db)
    with CraftedApi(small_world()) as api:
        for _ in range(2):  # the second load is refused the same way: nothing the first left changes that
            result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
            assert_one_line_error(result, 6, str(db))
    assert _state(db) == before
    assert not paths.working_db_for(db).exists(), "no working copy of someone else's file"
    assert not list(tmp_path.glob(".benchmarks.duckdb.*.tmp"))


def test_a_refused_file_moved_away_lets_the_next_load_work(tmp_path):
    db = tmp_path / "w.duckdb"
    db.write_text("not a database\n")
    with CraftedApi(small_world()) as api:
        assert run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path).returncode == 6
        db.unlink()
        result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("Loaded"), result.stderr


def test_a_working_copy_that_is_no_database_is_replaced(tmp_path):
    """What earlier versions left after copying a text file into the working folder: it is ours, so it goes."""
    db = tmp_path / "w.duckdb"
    paths.working_db_for(db).parent.mkdir()
    paths.working_db_for(db).write_text("not a database\n")
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("Loaded"), result.stderr


def test_a_foreign_file_put_over_the_published_warehouse_is_refused(crafted_file, tmp_path):
    """A working copy from an earlier load does not make someone else's file at --db ours."""
    db = crafted_file.db  # small_world() as a load makes it
    with CraftedApi(small_world()) as api:
        assert paths.working_db_for(db).exists()
        with duckdb.connect(str(db), read_only=True) as connection:  # what marks a warehouse as ours
            names = connection.execute("select distinct schema_name from benchmarks_raw._dlt_version").fetchall()
        assert names == [("benchmarks",)]
        db.unlink()
        _users_own_duckdb(db)
        before = _state(db)
        result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
    assert_one_line_error(result, 6, str(db), "did not create it")
    assert _state(db) == before
    assert not paths.working_db_for(db).exists()


def test_a_backslash_in_the_path_is_refused_before_anything_is_written(tmp_path):
    """DuckDB turns every backslash of a path into a separator: no DuckDB could open such a file."""
    result = run_cli("load", "--db", str(tmp_path / "back\\slash.duckdb"), cwd=tmp_path)
    assert_one_line_error(result, 2, "backslash")
    assert list(tmp_path.iterdir()) == []


def test_every_command_works_on_a_path_with_every_odd_character(tmp_path):
    """Quotes, spaces, `;`, `$`, a newline, non-ASCII and a leading `-`, all in one directory and file name."""
    name = "".join(ODD_NAMES)
    (tmp_path / name).mkdir()
    db = Path(name) / f"-{name}.duckdb"  # relative, so the argument itself starts with "-"
    with CraftedApi(small_world()) as api:
        for _ in range(2):
            result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Nothing changed upstream")
    for command in (["status"], ["query", "select count(*) as n from analytics.models"], ["report"]):
        result = run_cli(*command, "--db", str(db), cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)


def test_no_duckdb_connection_fetches_or_loads_extensions(crafted_file, tmp_path):
    """By default DuckDB downloads sqlite_scanner to open a SQLite file (or httpfs for a URL)."""
    db = crafted_file.db  # small_world() as a load makes it
    sql = "select current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
    result = run_cli("query", "--db", str(db), "--format", "csv", sql, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["False,False"] or result.stdout.lower().splitlines()[1:] == [
        "false,false"
    ]
    for read_only in (False, True):
        with connect(db, read_only=read_only) as connection:
            assert connection.execute(sql).fetchone() == (False, False)
    config = DuckDbFile(db, DuckDbSettings()).dlt_destination().config_params["credentials"].global_config
    assert config["autoinstall_known_extensions"] is False and config["autoload_known_extensions"] is False


@pytest.fixture()
def read_only_folder(tmp_path):
    """A folder on a read-only file system: root ignores permission bits, not a read-only mount."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(folder)], capture_output=True
    ).returncode == 0
    if not mounted:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the read-only test: mounting a tmpfs failed (not root?)")
        pytest.skip("mounting a tmpfs needs root")

    def make_read_only() -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)

    try:
        yield folder, make_read_only
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_place_is_exit_6_naming_the_path(read_only_folder, tmp_path):
    folder, make_read_only = read_only_folder
    db = folder / "w.duckdb"
    with CraftedApi(small_world()) as api:
        assert run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path).returncode == 0
        make_read_only()
        for extra in ([], ["--full-refresh"]):  # the short way (records only) and a full load
            result = run_cli("load", "--db", str(db), "--base-url", api.url, *extra, cwd=tmp_path)
            assert_one_line_error(result, 6, str(folder))
        fresh = folder / "new.duckdb"
        result = run_cli("load", "--db", str(fresh), "--base-url", api.url, cwd=tmp_path)
    assert_one_line_error(result, 6, str(folder))
    assert run_cli("status", "--db", str(db), cwd=tmp_path).returncode == 0
