"""PostgreSQL's credentials and roles: docs/postgres.md's recipes for dashboards (a read-only role keeps reading
`analytics` across loads; a role that reads every figure but never the conversations), missing or wrong credentials
named in one line, and a password that never leaks."""

from __future__ import annotations

import psycopg2
import pytest

from pipelines.readers.status import collect_status
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load
from tests.read_only_role import AGGREGATES_ROLE, BI_PASSWORD, grant_aggregates_recipe, grant_readme_recipe
from tests.warehouses import PostgresWarehouse, on_engines

pytestmark = on_engines("postgres")


def read_as_bi(database, sql: str, role: str = "bi") -> list[tuple]:  # noqa: ANN001
    connection = psycopg2.connect(host="127.0.0.1", port=database.server.port, user=role, password=BI_PASSWORD,
                                  dbname=database.name)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def test_a_read_only_role_keeps_reading_analytics_across_loads(loaded_warehouse, start_simulator):
    warehouse = loaded_warehouse  # the tiny world at epoch 0
    grant_readme_recipe(warehouse)
    before = read_as_bi(warehouse, "select count(*) from analytics.test_cases")[0][0]
    load(warehouse, start_simulator("tiny", epoch=1).url)
    after = read_as_bi(warehouse, "select count(*) from analytics.test_cases")[0][0]
    assert before > 0 and after > 0 and after != before, "the grants survived a load that changed the data"
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        read_as_bi(warehouse, "select count(*) from benchmarks_raw.test_cases")


# What holds conversations, or rows a conversation could be read from: never readable by the role without them.
CONVERSATIONS = ("analytics.test_case_messages", "benchmarks_raw.test_case_messages", "benchmarks_raw.test_cases",
                 "benchmarks_stg.stg_test_case_messages", "benchmarks_stg.stg_test_cases",
                 "benchmarks_marts.test_case_messages")


def figures(database) -> list[str]:  # noqa: ANN001
    """Every analytics table but the messages, as the loader sees them."""
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute("select table_name from information_schema.tables where table_schema = 'analytics' "
                       "and table_name <> 'test_case_messages' order by 1")
        return [name for (name,) in cursor.fetchall()]


def assert_reads_the_figures_not_the_conversations(database, when: str) -> None:  # noqa: ANN001
    tables = figures(database)
    assert {"leaderboard", "regressions", "test_cases", "data_quality"} <= set(tables), tables
    for table in tables:
        assert read_as_bi(database, f"select count(*) from analytics.{table}", AGGREGATES_ROLE)[0][0] >= 0, when
    for relation in CONVERSATIONS:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            read_as_bi(database, f"select count(*) from {relation}", AGGREGATES_ROLE)
    columns = {name for (name,) in read_as_bi(database, "select column_name from information_schema.columns where "
                                                        "table_schema = 'analytics' and table_name = 'test_cases'",
                                              AGGREGATES_ROLE)}
    assert columns and not columns & {"content", "explanation"}, "analytics.test_cases holds no conversation text"


def test_a_role_reads_every_figure_and_never_the_conversations_across_loads(loaded_warehouse, simulator):
    """Loads refill the tables: the grants stay. A table re-created because its view's columns changed (an
    upgrade) is closed to the role until the grants run again; test_case_messages is never re-opened."""
    warehouse = loaded_warehouse  # the tiny world at epoch 0
    grant_aggregates_recipe(warehouse)
    assert_reads_the_figures_not_the_conversations(warehouse, "after the grants")
    simulator.set_epoch(1)
    load(warehouse, simulator.url)
    assert_reads_the_figures_not_the_conversations(warehouse, "after a load")

    with warehouse.connect() as connection, connection.cursor() as cursor:  # as an upgrade changing two views would
        for table in ("test_case_messages", "leaderboard"):
            cursor.execute(f"alter table analytics.{table} add column from_an_older_version integer")
    simulator.set_epoch(2)
    load(warehouse, simulator.url)
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        read_as_bi(warehouse, "select count(*) from analytics.leaderboard", AGGREGATES_ROLE)
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        read_as_bi(warehouse, "select count(*) from analytics.test_case_messages", AGGREGATES_ROLE)
    grant_aggregates_recipe(warehouse)
    assert_reads_the_figures_not_the_conversations(warehouse, "after an upgrade's load and the grants again")
    as_role = PostgresWarehouse(warehouse.server, warehouse.name, login=(AGGREGATES_ROLE, BI_PASSWORD))
    assert sorted(collect_status(as_role.engine(reading=True)).view_rows) == figures(warehouse), "status as the role"


def postgres_cli(*args: str, cwd, env: dict | None = None):  # noqa: ANN001, ANN201 - a CompletedProcess
    """benchmarks-etl <command> --destination postgres, the simulator's key in the environment."""
    return run_cli(*args, "--destination", "postgres", cwd=cwd, key="demo-key", env=env)


@pytest.mark.parametrize("command", [("load", "--base-url", "http://127.0.0.1:9"), ("status",)], ids=["load", "status"])
def test_missing_postgres_credentials_name_the_setting(engine_name, tmp_path, command):
    result = postgres_cli(*command, cwd=tmp_path)
    assert_one_line_error(result, 2, "DESTINATION__POSTGRES__CREDENTIALS")


def test_a_wrong_postgres_password_fails_in_one_line_without_printing_it(warehouse, simulator, tmp_path):
    wrong = "not-the-pw-" + warehouse.server.password[:6]
    url = warehouse.url.replace(warehouse.server.password, wrong)
    result = postgres_cli("load", "--base-url", simulator.url, cwd=tmp_path,
                          env={"DESTINATION__POSTGRES__CREDENTIALS": url})
    assert_one_line_error(result, 6, "Cannot connect", "password authentication failed")
    assert wrong not in result.stdout + result.stderr


def test_the_postgres_password_is_never_printed_logged_or_written(start_simulator, warehouse, tmp_path):
    """Success, --verbose (dlt's logs, tracebacks) and a failure that names the database: the password is in no
    output and in no file the loads leave (XDG_STATE_HOME holds dlt's working state, traces and load records)."""
    sim = start_simulator(scale="tiny")
    password = warehouse.server.password
    missing_database = warehouse.url.rsplit("/", 1)[0] + "/no_such_database"
    results = [postgres_cli("load", "--base-url", sim.url, cwd=tmp_path)]
    sim.set_epoch(1)  # the verbose load has something to load
    results.append(postgres_cli("load", "--base-url", sim.url, "--verbose", cwd=tmp_path))
    results.append(postgres_cli("load", "--base-url", sim.url, "--verbose", cwd=tmp_path,
                                env={"DESTINATION__POSTGRES__CREDENTIALS": missing_database}))
    assert [result.returncode for result in results] == [0, 0, 6], results[-1].stderr
    assert "no_such_database" in results[-1].stderr
    for result in results:
        assert password not in result.stdout + result.stderr

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len([path for path in files if (tmp_path / "state") in path.parents]) > 10
    leaking = [str(path) for path in files if password.encode() in path.read_bytes()]
    assert leaking == []
