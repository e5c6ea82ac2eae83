"""PostgreSQL's credentials and roles: docs/postgres.md's recipe for dashboards (a read-only role keeps reading
`analytics` across loads), missing or wrong credentials named in one line, and a password that never leaks."""

from __future__ import annotations

import psycopg2
import pytest

from tests.commands import assert_one_line_error, run_cli
from tests.loads import load
from tests.read_only_role import BI_PASSWORD, grant_readme_recipe
from tests.warehouses import on_engines

pytestmark = on_engines("postgres")


def read_as_bi(database, sql: str) -> list[tuple]:  # noqa: ANN001
    connection = psycopg2.connect(host="127.0.0.1", port=database.server.port, user="bi", password=BI_PASSWORD,
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
