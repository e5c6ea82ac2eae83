"""The warehouse a test loads into, on either engine: a DuckDB file, or a database on the session's throwaway
PostgreSQL server (simulator/throwaway_postgres.py); what commands need to name it (options, environment) and the
product's `Engine` for it. What it holds is read by tests/snapshots.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pipelines.warehouse.destinations import open_engine
from pipelines.warehouse.spark.relations import SCHEMAS
from simulator.throwaway_postgres import ThrowawayPostgres
from simulator.throwaway_spark import ThrowawaySpark

CREDENTIALS = "DESTINATION__POSTGRES__CREDENTIALS"
SPARK_LAKE_URL, SPARK_CONNECT_URL = "DESTINATION__SPARK__LAKE_URL", "DESTINATION__SPARK__CONNECT_URL"
ENGINES = ("duckdb", "postgres")


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


@dataclass(frozen=True)
class SparkWarehouse:
    """A lake folder and the session's throwaway Spark cluster, named to the product by DESTINATION__SPARK__* (as a
    user names them). The cluster has one catalog, so one Spark warehouse at a time: `fresh()` empties the catalog."""

    cluster: ThrowawaySpark
    lake: Path
    engine_name: ClassVar[str] = "spark"

    @property
    def cli_args(self) -> tuple[str, ...]:
        return ("--destination", "spark")

    @property
    def env(self) -> dict[str, str]:
        return {SPARK_LAKE_URL: str(self.lake), SPARK_CONNECT_URL: self.cluster.connect_url}

    @contextmanager
    def selected(self) -> Iterator[None]:
        before = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def engine(self, reading: bool = False) -> Any:
        with self.selected():
            return open_engine("spark", reading=reading)

    def attached(self) -> SparkWarehouse:
        """The cluster's catalog serving this lake again after another test's `fresh()` (one catalog per cluster):
        the views created over it and its newest publication shown, as the last steps of a load do."""
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession

        session = SparkSession.builder.remote(self.cluster.connect_url).create()
        try:
            served = session.sql("select input_file_name() from benchmarks_state.publication limit 1").collect()
        except PySparkException:
            served = []
        finally:
            session.stop()
        if not any(str(self.lake.resolve()) in row[0] for row in served):
            engine = self.engine()
            engine.apply_views()
            engine.commit_loaded_runs()
            engine.publish()
        return self

    def fresh(self) -> SparkWarehouse:
        """Drop what an earlier test left in the cluster's catalog (its lake was that test's own folder)."""
        from pyspark.sql import SparkSession

        session = SparkSession.builder.remote(self.cluster.connect_url).create()
        try:
            for schema in SCHEMAS:  # the product's own
                session.sql(f"drop database if exists {schema} cascade")
        finally:
            session.stop()
        return self


Warehouse = DuckDbWarehouse | PostgresWarehouse | SparkWarehouse


def as_warehouse(target: Warehouse | Path | str) -> Warehouse:
    """A path stands for the DuckDB file at it."""
    return DuckDbWarehouse(Path(target)) if isinstance(target, str | Path) else target


class Warehouses:
    """Empty warehouses on one engine for one test (or module): `new()` each time; databases dropped by `drop()`."""

    def __init__(self, engine_name: str, folder: Path, server: ThrowawayPostgres | None = None,
                 cluster: ThrowawaySpark | None = None) -> None:
        self.engine_name, self.folder, self.server, self.cluster = engine_name, folder, server, cluster
        self.made: list[Warehouse] = []

    def new(self, name: str = "w") -> Warehouse:
        """A DuckDB file `<folder>/<name>/w.duckdb` (one folder each: the catalog is named after the stem), or a
        fresh database."""
        if self.engine_name == "duckdb":
            made: Warehouse = DuckDbWarehouse(self.folder / name / "w.duckdb")
            made.db.parent.mkdir(parents=True, exist_ok=True)
        elif self.engine_name == "spark":
            assert self.cluster is not None, "Spark warehouses need the spark fixture"
            made = SparkWarehouse(self.cluster, self.folder / name / "lake").fresh()
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
        elif isinstance(built.warehouse, SparkWarehouse):
            made = copy_lake(built, SparkWarehouse(built.warehouse.cluster, self.folder / name / "lake"))
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


def copy_lake(built: Any, made: SparkWarehouse) -> SparkWarehouse:
    """A copy of a pre-built lake (its files and its working folder) at `made`'s folder, served by the catalog as a
    load into it would leave it (`redeclared`)."""
    shutil.copytree(built.warehouse.lake, made.lake, symlinks=True)
    shutil.copytree(built.working_dir, working_dir(made), symlinks=True)
    return redeclared(made)


def redeclared(made: SparkWarehouse) -> SparkWarehouse:
    """The catalog serving the lake `made` (a copy of another lake) as its last load would have left it: a table
    over each of its folders, the raw views over those, the digest of the definitions, its newest publication shown.
    The staging and analytics views name the raw views, not the lake, so they are the same for every lake: kept
    when the catalog holds a digest (every view was created since the catalog was emptied); else every view is
    created, as a first load does (about 30 s on the local cluster, against seconds for the raw views alone)."""
    from pipelines.warehouse.spark import relations

    engine = made.engine()
    with engine.connect_for_load() as connection:
        views_kept = relations.applied_digest(connection) is not None
        if views_kept:
            raw_views = relations.raw_view_statements(engine.lake)
            for statement in [*relations.file_table_statements(engine.lake), *raw_views]:
                connection.execute(statement)
            views = [statement for statement, _ in relations.view_statements(engine)]
            connection.execute(relations.digest_statement(relations.definitions_digest([*raw_views, *views])))
    if not views_kept:
        engine.apply_views()
    engine.commit_loaded_runs()
    engine.publish()
    return made


def working_dir(target: Warehouse | Path) -> Path:
    """Where the product keeps the warehouse's working state (dlt's, the load records, the change check's)."""
    return as_warehouse(target).engine().working_dir


def on_engines(*engines: str, spark_group: str = "spark") -> Any:
    """A test that takes `warehouse` runs on these engines only (by default on every engine in ENGINES). Spark's
    tests run in a pytest-xdist group (make test: --dist loadgroup), one cluster each: "spark" for those that read the
    session's pre-built lake, "spark-loads" for those that load a lake of their own (tests/test_spark_readers.py)."""
    import pytest

    params = [pytest.param(name, marks=pytest.mark.xdist_group(spark_group)) if name == "spark" else name
              for name in engines]
    return pytest.mark.parametrize("engine_name", params)
