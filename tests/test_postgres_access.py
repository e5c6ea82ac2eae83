"""docs/postgres.md's recipe for dashboards on PostgreSQL: a read-only role keeps reading `analytics` across loads."""

from __future__ import annotations

import psycopg2
import pytest

from pipelines.load.runner import run_load
from tests.read_only_role import BI_PASSWORD, grant_readme_recipe


def read_as_bi(database, sql: str) -> list[tuple]:
    connection = psycopg2.connect(host="127.0.0.1", port=database.server.port, user="bi", password=BI_PASSWORD,
                                  dbname=database.name)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def test_a_read_only_role_keeps_reading_analytics_across_loads(pg_database, start_simulator, tmp_path):
    sim = start_simulator("tiny")
    run_load(destination="postgres", base_url=sim.url)
    grant_readme_recipe(pg_database)
    before = read_as_bi(pg_database, "select count(*) from analytics.test_cases")[0][0]
    sim.set_epoch(1)
    run_load(destination="postgres", base_url=sim.url)
    after = read_as_bi(pg_database, "select count(*) from analytics.test_cases")[0][0]
    assert before > 0 and after > 0 and after != before, "the grants survived a load that changed the data"
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        read_as_bi(pg_database, "select count(*) from benchmarks_raw.test_cases")
