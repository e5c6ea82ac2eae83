"""`query` on an engine that has no read-only session (Spark Connect): the statement is checked before it is sent,
and what is sent is the statement as checked.

DuckDB opens the warehouse read-only and PostgreSQL runs the query in a read-only transaction, so there the engine
refuses a write. A Spark Connect session can do whatever its user may: create, drop, insert, read any file the
cluster reaches (`parquet.`/path``), call Java (`reflect`). So the statement is parsed with sqlglot and refused
unless it is one query (SELECT, WITH ... SELECT, UNION ..., or DESCRIBE) that names no file and calls no function
that reaches outside the data. It is then sent as sqlglot writes it back, so Spark runs exactly what was checked,
whatever the two parsers would make of comments or quoting the other reads differently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.errors import WarehouseError, first_line

# Functions that run Java, read files, or take a table name from a string (IDENTIFIER('parquet.`/path`')).
OUTSIDE_FUNCTIONS = frozenset({"reflect", "java_method", "try_reflect", "read_files", "identifier"})
# `<format>.`<path>`` reads the files at the path (Spark's "SQL on files"); a database named like a format is refused
# alike.
FILE_FORMATS = frozenset({"parquet", "csv", "json", "orc", "text", "avro", "binaryfile", "xml", "delta", "jdbc",
                          "iceberg", "hudi", "hive", "libsvm", "image"})
REFUSED = "Query failed: query is read-only on Spark and runs one SELECT (WITH, UNION ...) or DESCRIBE"


def checked_read_only(sql: str, dialect: str) -> str:
    """The one read-only query in `sql`, as sqlglot writes it in `dialect`; a WarehouseError (exit 6, as a refused
    write on the other engines) naming what is refused otherwise."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        with _quiet_sqlglot():
            statements = [statement for statement in sqlglot.parse(sql, read=dialect) if statement is not None]
    except SqlglotError as exc:
        raise WarehouseError(f"{REFUSED}; this one cannot be checked: {first_line(exc)}") from None
    if len(statements) != 1:
        raise WarehouseError(f"{REFUSED}; got {len(statements)} statements.")
    statement = statements[0]
    if not isinstance(statement, exp.Query | exp.Describe):
        raise WarehouseError(f"{REFUSED}; got {_kind(statement)}.")
    for function in statement.find_all(exp.Func):
        name = (function.name if isinstance(function, exp.Anonymous) else function.sql_name()).lower()
        if name in OUTSIDE_FUNCTIONS:
            raise WarehouseError(f"{REFUSED}; {name}() reaches outside the warehouse.")
    for table in statement.find_all(exp.Table):
        if table.db.lower() in FILE_FORMATS or any(mark in table.name for mark in "/:"):
            raise WarehouseError(f"{REFUSED}; {table.sql(dialect=dialect)} reads files, not the warehouse.")
    return statement.sql(dialect=dialect, comments=False)  # a comment written back could end early


def _kind(statement: object) -> str:
    """What a refused statement is, as its first keyword (CREATE, DROP, INSERT, SET, SHOW ...)."""
    from sqlglot import exp

    if isinstance(statement, exp.Command):
        return str(statement.this).upper()
    return type(statement).__name__.upper()


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot warns on stderr when it keeps a statement it cannot parse as a command; the user gets our one line."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)

