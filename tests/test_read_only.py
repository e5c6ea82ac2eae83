"""Read-only means read-only: `query` (and every reader) can read the loaded_file and change nothing on disk.

DuckDB: its own switches (no external access, locked configuration, no extension install or autoload), not SQL
parsing; spill files in a private folder, never beside the loaded_file. PostgreSQL: the reading commands connect as
the read role when one is set, and `query` refuses a role that can write the server's files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.errors import ConfigError, WarehouseError
from pipelines.readers.query import run_query
from pipelines.readers.read_only_sql import checked_read_only
from pipelines.warehouse import settings
from pipelines.warehouse.postgres.configuration import READ_CREDENTIALS_SETTING
from simulator.crafted_api import small_world
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load_routes
from tests.read_only_role import BI_PASSWORD, grant_readme_recipe
from tests.warehouses import on_engines


@pytest.fixture(scope="module")
def loaded_file(tmp_path_factory):
    """small_world() loaded once into a DuckDB file of the module's own: the tests only read it."""
    db = tmp_path_factory.mktemp("read-only") / "w.duckdb"
    load_routes(db, small_world(), source_options={"api_key": "demo-key"})
    return db


def files_under(directory) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*")}


# Each would read or write outside the loaded_file, or switch the guards off again.
ESCAPES = [
    "copy (select 1) to '{target}'",
    "copy analytics.models to '{target}' (format parquet)",
    "export database '{target}'",
    "attach '{target}' as other",
    "install httpfs",
    "load httpfs",
    "select * from read_csv('/etc/passwd')",
    "select * from read_text('/etc/hostname')",
    "select * from glob('/etc/*')",
    "set enable_external_access = true",
    "set lock_configuration = false",
    "set temp_directory = '{target}'",
    "reset temp_directory",
    "pragma threads = 1",
]


@pytest.mark.parametrize("sql", ESCAPES)
def test_statements_that_reach_outside_the_warehouse_fail_and_write_nothing(loaded_file, tmp_path, sql):
    target = tmp_path / "written"
    before = files_under(loaded_file.parent)
    with pytest.raises(WarehouseError, match="Query failed"):
        run_query(loaded_file, sql.format(target=target))
    assert not target.exists()
    assert files_under(loaded_file.parent) == before
    assert run_query(loaded_file, "select count(*) from analytics.models")[1] == [(1,)]  # reading still works


def test_query_copy_to_from_the_command_line_fails_with_one_line(loaded_file, tmp_path):
    target = tmp_path / "x.csv"
    result = run_cli("query", f"copy (select 1) to '{target}'", "--db", str(loaded_file), cwd=tmp_path)
    assert_one_line_error(result, 6, "Query failed", "disabled by configuration")
    assert not target.exists()


SPILLING_QUERY = "select count(*) from (select r, random() as x from range(4000000) t(r) order by x)"


def files_seen_while(run, directories) -> set[str]:
    """Names that appear in `directories` while `run()` runs in a thread (spill files come and go with a query)."""
    seen: set[str] = set()
    worker = threading.Thread(target=run)
    worker.start()
    while worker.is_alive():
        for directory in directories:
            seen.update(f"{directory.name}/{name}" for name in os.listdir(directory))
        time.sleep(0.005)
    worker.join()
    return seen


def test_a_query_that_spills_writes_nothing_beside_the_warehouse(loaded_file, tmp_path, monkeypatch):
    """Control first: a plain read-only DuckDB connection with little memory spills into `w.duckdb.tmp/` beside the
    file. The reader's connection, with the same memory, spills into its private folder, which is removed after."""
    memory = {"memory_limit": "40MB", "threads": 1}

    def plain_reader() -> None:
        with duckdb.connect(str(loaded_file), read_only=True, config=memory) as connection:
            connection.execute(SPILLING_QUERY).fetchall()

    beside = loaded_file.parent
    already = {f"{beside.name}/{name}" for name in os.listdir(beside)}
    assert f"{beside.name}/w.duckdb.tmp" in files_seen_while(plain_reader, [beside]) - already

    private = tmp_path / "private-tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setattr(settings, "DUCKDB_READ_CONFIG", {**settings.DUCKDB_READ_CONFIG, **memory})
    results = []
    seen = files_seen_while(lambda: results.append(run_query(loaded_file, SPILLING_QUERY)), [beside, private])
    assert results and results[0][1] == [(4_000_000,)]
    assert {name for name in seen if name.startswith(f"{beside.name}/")} == already
    assert any(name.startswith("private-tmp/benchmarks-etl-reader-") for name in seen), "it spilled, privately"
    assert list(private.iterdir()) == []


def test_export_still_writes_its_files_through_pyarrow(loaded_file, tmp_path):
    result = run_cli("export", "--out", str(tmp_path / "out"), "--format", "csv", "--db", str(loaded_file),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "models.csv").read_text(encoding="utf-8").startswith("\"model_id\",")


# PostgreSQL


@pytest.fixture()
def server_writable(tmp_path):
    """A folder the database server's own OS user may write to (it is not the tests' user): where a COPY ... TO
    of a privileged role would land, so a refusal is the refusal of the role, not of the file system."""
    folder = Path(tempfile.mkdtemp(prefix="benchmarks-copy-target-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def loaded_database(warehouses, prebuilt, monkeypatch):  # noqa: ANN201 - a PostgresWarehouse
    """small_world() as a load makes it (a copy), named by DESTINATION__POSTGRES__CREDENTIALS."""
    made = warehouses.copy(prebuilt.crafted(warehouses, "small_world", small_world()))
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


def read_role_url(database) -> str:  # noqa: ANN001
    return f"postgresql://bi:{BI_PASSWORD}@127.0.0.1:{database.server.port}/{database.name}"


@on_engines("postgres")
def test_postgres_query_as_the_read_role_cannot_copy_to_a_file(loaded_database, tmp_path, server_writable):
    pg_database = loaded_database
    grant_readme_recipe(pg_database)
    target = server_writable / "x"
    # Only the read role is configured: the reading commands need nothing of the loader's.
    env = {"DESTINATION__POSTGRES__CREDENTIALS": "",
           READ_CREDENTIALS_SETTING: read_role_url(pg_database)}
    copy = run_cli("query", f"copy (select 1) to '{target}'", "--destination", "postgres", cwd=tmp_path, env=env)
    assert_one_line_error(copy, 6, "Query failed")
    assert not target.exists()
    who = run_cli("query", "select current_user as who", "--destination", "postgres", "--format", "csv",
                  cwd=tmp_path, env=env)
    assert who.returncode == 0, who.stderr
    assert who.stdout == "who\nbi\n"
    readers = [run_cli(*command, "--destination", "postgres", cwd=tmp_path, env=env)
               for command in (("report",), ("status",), ("export", "--out", str(tmp_path / "out")))]
    assert [result.returncode for result in readers] == [0, 0, 0], [result.stdout + result.stderr for result in readers]
    assert f"Warehouse: postgresql://bi@127.0.0.1:{pg_database.server.port}/" in readers[1].stdout
    for result in (copy, who, *readers):
        assert BI_PASSWORD not in result.stdout + result.stderr
        assert pg_database.server.password not in result.stdout + result.stderr


@on_engines("postgres")
def test_postgres_query_refuses_a_role_that_can_write_server_files(loaded_database, tmp_path, server_writable):
    """No read role set and the loader is a superuser (as in the tests): `query` says what to set and runs nothing;
    report, export and status, which run only this project's SQL, still work as the loader."""
    pg_database = loaded_database
    target = server_writable / "x"
    copy = run_cli("query", f"copy (select 1) to '{target}'", "--destination", "postgres", cwd=tmp_path)
    assert_one_line_error(copy, 2, "can write files on the database server", READ_CREDENTIALS_SETTING)
    assert not target.exists()
    assert pg_database.server.password not in copy.stdout + copy.stderr
    with pytest.raises(ConfigError):
        run_query(pg_database.engine(reading=True), "select 1")
    status = run_cli("status", "--destination", "postgres", cwd=tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr


# Spark: no read-only session, so `query` checks the statement before sending it (pipelines/readers/read_only_sql.py)

SPARK_REFUSED = {
    "create table analytics.x (i int)": "got CREATE",
    "drop view analytics.models": "got DROP",
    "insert into analytics.x select 1": "got INSERT",
    "with a as (select 1) insert into analytics.x select * from a": "got INSERT",
    "cache table x as select 1": "got CACHE",
    "set spark.sql.runSQLOnFiles = true": "got SET",
    "add jar /tmp/x.jar": "got ADD",
    "show tables": "got SHOW",
    "select * from parquet.`/etc`": "parquet.`/etc` reads files",
    "select * from csv.`file:///etc/passwd`": "reads files",
    "select * from `/etc/passwd`": "reads files",
    "select reflect('java.lang.System', 'exit', '0')": "reflect() reaches outside",
    "select java_method('java.lang.System', 'getenv', 'HOME')": "java_method() reaches outside",
    "select try_reflect('java.lang.System', 'getenv', 'HOME')": "try_reflect() reaches outside",
    "select * from read_files('/etc')": "read_files() reaches outside",
    "select * from identifier('parquet.`/etc`')": "identifier() reaches outside",
    "select count(*) from analytics.models where model_id in (select reflect('a', 'b'))": "reflect() reaches",
    "selec 1": "cannot be checked",
}
SPARK_ACCEPTED = {
    "select name from analytics.models order by 1": "SELECT name FROM analytics.models ORDER BY 1",
    "with m as (select * from analytics.models) select count(*) from m":
        "WITH m AS (SELECT * FROM analytics.models) SELECT COUNT(*) FROM m",
    "select 1 union all select 2": "SELECT 1 UNION ALL SELECT 2",
    "describe analytics.models": "DESCRIBE analytics.models",
    "select input_file_name() from analytics.models": "SELECT INPUT_FILE_NAME() FROM analytics.models",
    # a comment is not sent: written back as a comment, its own `*/` would end it early
    "select 1 -- */ , reflect('a', 'b') /*": "SELECT 1",
}


@pytest.mark.parametrize("sql", SPARK_REFUSED)
def test_spark_query_refuses_what_is_not_one_read_only_query(sql):
    with pytest.raises(WarehouseError, match="^Query failed: query is read-only on Spark") as refused:
        checked_read_only(sql, "spark")
    assert SPARK_REFUSED[sql] in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("sql", SPARK_ACCEPTED)
def test_spark_query_sends_the_read_only_query_as_checked(sql):
    assert checked_read_only(sql, "spark") == SPARK_ACCEPTED[sql]


def test_a_refused_spark_query_reaches_no_endpoint_and_is_one_line_exit_6(tmp_path):
    """Refused before connecting: the endpoint named does not even exist."""
    env = {"DESTINATION__SPARK__LAKE_URL": str(tmp_path / "lake"), "DESTINATION__SPARK__CONNECT_URL": "sc://127.0.0.1:9"}
    result = run_cli("query", "drop view analytics.models", "--destination", "spark", cwd=tmp_path, env=env)
    assert_one_line_error(result, 6, "Query failed", "read-only", "got DROP")
