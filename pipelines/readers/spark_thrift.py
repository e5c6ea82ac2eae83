"""SQLAlchemy over Spark's Thrift server (HiveServer2): PyHive's `hive://` dialect with Spark's listings read right,
registered as `hive+spark://host:port/analytics` (pyproject.toml's entry point; `pip install '.[spark-bi]'`).

Why not PyHive's dialect as it is: its table listing takes the first column of `SHOW TABLES`, which on Hive is the
table's name and on Spark the schema's (`namespace, tableName, isTemporary`), so an inspector lists `analytics` once
per view (PyHive issue 150, open since 2017; PyHive is unmaintained). Queries, `DESCRIBE` and so columns work
unchanged. Reading only: nothing here writes (docs/spark.md says where read-only comes from on Spark)."""

from __future__ import annotations

from typing import Any

from pyhive.sqlalchemy_hive import HiveDialect
from sqlalchemy import text

# The name column of each listing, on Spark and on Hive (whose SHOW TABLES has one column, tab_name)
NAME_COLUMNS = ("tableName", "viewName", "tab_name")


class SparkThriftDialect(HiveDialect):
    """PyHive's dialect, with tables and views listed by their name column (views are not tables, as SQLAlchemy's
    inspector expects: Spark's SHOW TABLES lists both)."""

    driver = "spark"
    supports_statement_cache = False  # as PyHive's: its compiler is not checked for caching

    @classmethod
    def import_dbapi(cls) -> Any:
        """PyHive's DB-API module, named as SQLAlchemy 2 asks (its `dbapi()` classmethod warns)."""
        from pyhive import hive

        return hive

    def get_view_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        return self._names(connection, "SHOW VIEWS", schema)

    def get_table_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        views = set(self.get_view_names(connection, schema))
        return [name for name in self._names(connection, "SHOW TABLES", schema) if name not in views]

    def _names(self, connection: Any, listing: str, schema: str | None) -> list[str]:
        """The names a listing gives, persistent ones only (a session's temporary views are nobody else's)."""
        statement = listing if schema is None else f"{listing} IN {self.identifier_preparer.quote_identifier(schema)}"
        result = connection.execute(text(statement))
        columns = set(result.keys())
        column = next(name for name in NAME_COLUMNS if name in columns)
        return [row[column] for row in result.mappings() if not row.get("isTemporary", False)]
