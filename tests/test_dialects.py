"""Beyond DuckDB and PostgreSQL: the views' SQL at least parses for other dlt destinations' dialects.

This is all that is checked for MotherDuck (DuckDB's own dialect), BigQuery and Snowflake: sqlglot transpiles every
view without an unsupported construct and parses the result back. Nothing has run there (docs/postgres.md, "Other dlt
destinations").
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from pipelines.warehouse.views import SOURCE_DIALECT, view_files

# dlt destination -> sqlglot dialect
UNTRIED_DESTINATIONS = {"motherduck": "duckdb", "bigquery": "bigquery", "snowflake": "snowflake"}
VIEWS = view_files()


@pytest.mark.parametrize("destination", sorted(UNTRIED_DESTINATIONS))
@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.name)
def test_every_view_transpiles_and_parses_back(view, destination):
    dialect = UNTRIED_DESTINATIONS[destination]
    source = view.path.read_text(encoding="utf-8")
    [translated] = sqlglot.transpile(source, read=SOURCE_DIALECT, write=dialect, unsupported_level=ErrorLevel.RAISE)
    [parsed] = sqlglot.parse(translated, read=dialect, error_level=ErrorLevel.RAISE)
    assert isinstance(parsed, exp.Query), f"{view.path.name} is not one query in {dialect}"
    tables = {table.name for table in parsed.find_all(exp.Table)}
    original = {table.name for table in sqlglot.parse_one(source, read=SOURCE_DIALECT).find_all(exp.Table)}
    assert tables == original, f"{view.path.name} reads other tables in {dialect}"


def test_postgres_is_transpiled_without_an_unsupported_construct():
    """The dialect the suite really runs (tests/test_postgres.py); failing here names the view at once."""
    for view in VIEWS:
        source = view.path.read_text(encoding="utf-8")
        sqlglot.transpile(source, read=SOURCE_DIALECT, write="postgres", unsupported_level=ErrorLevel.RAISE)
