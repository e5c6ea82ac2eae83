"""The warehouse a test loads into, on either engine: a DuckDB file, or a database on the session's throwaway
PostgreSQL server (tests/postgres.py). What a warehouse holds is read through the product's own `Engine`
(connect_published, names, arrow_reader), the way `query`, `export` and `report` read it: one snapshot helper for
every engine. The expected rows come from elsewhere (tests/warehouse_checks.py builds them from the simulator).
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from pipelines.tables import TEST_CASE_MESSAGES, TEST_CASES
from pipelines.warehouse import settings
from pipelines.warehouse.destinations import open_engine
from pipelines.warehouse.engine import quote
from simulator.throwaway_postgres import ThrowawayPostgres

CREDENTIALS = "DESTINATION__POSTGRES__CREDENTIALS"
ENGINES = ("duckdb", "postgres")
READ_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class DuckDbWarehouse:
    """A DuckDB file (it need not exist yet); the path names it everywhere."""

    db: Path
    engine_name: ClassVar[str] = "duckdb"

    @property
    def cli_args(self) -> tuple[str, ...]:
        return ("--db", str(self.db))

    @property
    def env(self) -> dict[str, str]:
        return {}

    @contextmanager
    def selected(self) -> Iterator[None]:
        yield

    def engine(self, reading: bool = False) -> Any:
        """The product's Engine for this file (`reading`: as the reading commands open it)."""
        return open_engine("duckdb", self.db, reading=reading)

    def connect(self) -> Any:
        """A writable connection to the published file (to damage or inspect it as no reader may)."""
        import duckdb

        return duckdb.connect(str(self.db))


@dataclass(frozen=True)
class PostgresWarehouse:
    """A database on the throwaway server, named to the product by DESTINATION__POSTGRES__CREDENTIALS (as a user
    names it); `selected()` sets that variable for what runs in this process. The product logs in as `login` (user,
    password) when given, else as the superuser; `connect()` is always the superuser's."""

    server: ThrowawayPostgres
    name: str
    login: tuple[str, str] | None = None
    engine_name: ClassVar[str] = "postgres"

    @property
    def url(self) -> str:
        if self.login is None:
            return self.server.url(self.name)
        user, password = self.login
        return f"postgresql://{user}:{password}@127.0.0.1:{self.server.port}/{self.name}"

    @property
    def cli_args(self) -> tuple[str, ...]:
        return ("--destination", "postgres")

    @property
    def env(self) -> dict[str, str]:
        return {CREDENTIALS: self.url}

    @contextmanager
    def selected(self) -> Iterator[None]:
        before = os.environ.get(CREDENTIALS)
        os.environ[CREDENTIALS] = self.url
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(CREDENTIALS, None)
            else:
                os.environ[CREDENTIALS] = before

    def engine(self, reading: bool = False) -> Any:
        """The product's Engine for this database (`reading`: as the reading commands open it, with the read role
        when one is set)."""
        with self.selected():
            return open_engine("postgres", reading=reading)

    def connect(self):  # noqa: ANN201 - a context manager of a psycopg2 connection (autocommit, the superuser)
        return self.server.connect(self.name)


Warehouse = DuckDbWarehouse | PostgresWarehouse


def as_warehouse(target: Warehouse | Path | str) -> Warehouse:
    """A path stands for the DuckDB file at it."""
    return DuckDbWarehouse(Path(target)) if isinstance(target, str | Path) else target


class Warehouses:
    """Empty warehouses on one engine for one test (or module): `new()` each time; databases dropped by `drop()`."""

    def __init__(self, engine_name: str, folder: Path, server: ThrowawayPostgres | None = None) -> None:
        self.engine_name, self.folder, self.server = engine_name, folder, server
        self.made: list[Warehouse] = []

    def new(self, name: str = "w") -> Warehouse:
        """A DuckDB file `<folder>/<name>/w.duckdb` (one folder each: the catalog is named after the stem), or a
        fresh database."""
        if self.engine_name == "duckdb":
            made: Warehouse = DuckDbWarehouse(self.folder / name / "w.duckdb")
            made.db.parent.mkdir(parents=True, exist_ok=True)
        else:
            assert self.server is not None, "PostgreSQL warehouses need the postgres fixture"
            made = PostgresWarehouse(self.server, self.server.create_database())
        self.made.append(made)
        return made

    def copy(self, built: Any, name: str = "w") -> Warehouse:
        """A new warehouse holding what `built` (a tests/prebuilt.py Built) holds, its working state included (dlt's
        state, the load records): the next load finds an existing warehouse, as if it had loaded it itself."""
        if isinstance(built.warehouse, DuckDbWarehouse):
            made: Warehouse = copy_file(built, self.folder / name / "w.duckdb")
        else:
            assert self.server is not None
            made = PostgresWarehouse(self.server, self.server.create_database(template=built.warehouse.name))
            shutil.copytree(built.working_dir, working_dir(made), symlinks=True)
        self.made.append(made)
        return made

    def drop(self) -> None:
        for made in self.made:
            if isinstance(made, PostgresWarehouse):
                made.server.drop_database(made.name)


def copy_file(built: Any, db: Path) -> DuckDbWarehouse:
    """A copy of a pre-built DuckDB warehouse (tests/prebuilt.py) at `db`, its working folder beside it. The file's
    stem must be the original's ("w"): DuckDB names the catalog after it."""
    assert db.stem == built.warehouse.db.stem, "the catalog is named after the file's stem"
    made = DuckDbWarehouse(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built.warehouse.db, db)
    shutil.copytree(built.working_dir, working_dir(made), symlinks=True)
    return made


def working_dir(target: Warehouse | Path) -> Path:
    """Where the product keeps the warehouse's working state (dlt's, the load records, the change check's)."""
    return as_warehouse(target).engine().working_dir


# ----- reading what a warehouse holds, through the product's Engine ------------------------------------------------

@dataclass(frozen=True)
class RelationRows:
    """One relation's column names (in order) and rows, normalised and sorted (see `normalised`)."""

    columns: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


RAW_CONTENT = {table.name: ", ".join(quote(column.name) for column in table.columns)
               for table in (TEST_CASES, TEST_CASE_MESSAGES)}


def snapshot(target: Warehouse | Path, *, raw: bool = False, load_history: bool = False) -> dict[str, RelationRows]:
    """Every analytics relation (views on DuckDB, tables on PostgreSQL), rows normalised and sorted. load_history
    only when asked (its timestamps differ from load to load); `raw`: also the raw test cases and messages row for
    row without their load ids (which differ from one warehouse to another), as "raw test_cases" and so on."""
    engine = as_warehouse(target).engine()
    with engine.connect_published() as connection:
        names = engine.names(connection)
        views = [view for view in relation_names(connection, settings.ANALYTICS_SCHEMA)
                 if load_history or view != "load_history"]
        taken = {view: _read(engine, connection, f"select * from {names.analytics(view)}") for view in views}
        if raw:
            for table, columns in RAW_CONTENT.items():
                taken[f"raw {table}"] = _read(engine, connection, f"select {columns} from {names.raw(table)}")
    return taken


def rows(target: Warehouse | Path, view: str) -> list[dict[str, Any]]:
    """analytics.<view> as dicts, normalised and sorted."""
    return select(target, f"select * from {{analytics}}.{quote(view)}").dicts()


def select(target: Warehouse | Path, sql: str) -> RelationRows:
    """The rows of one read-only statement; `{analytics}` and `{raw}` in it become the qualified schemas."""
    engine = as_warehouse(target).engine()
    with engine.connect_published() as connection:
        names = engine.names(connection)
        qualified = sql.replace("{analytics}", names.schema(settings.ANALYTICS_SCHEMA))
        return _read(engine, connection, qualified.replace("{raw}", names.schema(settings.RAW_SCHEMA)))


def values(target: Warehouse | Path, sql: str) -> list[tuple]:
    """The rows of `select` as tuples (sorted): what a test compares with a literal."""
    return select(target, sql).rows


def relation_names(connection: Any, schema: str) -> list[str]:
    """Tables and views of `schema`, by name (information_schema, which every engine has)."""
    found = connection.execute(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? order by 1", [schema]
    ).fetchall()
    return [name for (name,) in found]


def _read(engine: Any, connection: Any, sql: str) -> RelationRows:
    table = engine.arrow_reader(connection, sql, READ_BATCH_ROWS).read_all()
    columns = [table.column(index).to_pylist() for index in range(table.num_columns)]
    found = [tuple(normalised(value) for value in row) for row in zip(*columns, strict=True)]
    return RelationRows(list(table.column_names), sorted(found, key=_sort_key))


def normalised(value: Any) -> Any:
    """Numbers as floats (PostgreSQL's numeric and DuckDB's huge sums arrive as Decimal), timestamps in UTC (a
    timestamp without zone read as UTC)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _sort_key(row: tuple) -> str:
    # floats rounded, so that two engines' last-bit differences in a sum do not change the order
    return repr(tuple(f"{value:.9g}" if isinstance(value, float) else value for value in row))


def _same_value(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def assert_same_relations(
    expected: dict[str, RelationRows], actual: dict[str, RelationRows], count_only: Iterable[str] = (),
    what: str = "",
) -> None:
    """The same relations, columns in the same order and the same rows (floats within 1e-9); for the relations in
    `count_only`, the same number of rows. `what` prefixes the messages."""
    assert sorted(actual) == sorted(expected), what
    for name, want in expected.items():
        got = actual[name]
        assert got.columns == want.columns, f"{what} {name}: columns differ"
        assert len(got.rows) == len(want.rows), f"{what} {name}: {len(got.rows)} rows, expected {len(want.rows)}"
        if name in count_only:
            continue
        for index, (got_row, want_row) in enumerate(zip(got.rows, want.rows, strict=True)):
            same = len(got_row) == len(want_row) and all(map(_same_value, got_row, want_row))
            assert same, f"{what} {name}, sorted row {index}: {got_row!r}, expected {want_row!r}"


def on_engines(*engines: str) -> Any:
    """A test that takes `warehouse` runs on these engines only (by default on every engine in ENGINES)."""
    import pytest

    return pytest.mark.parametrize("engine_name", engines)
