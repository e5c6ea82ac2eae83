"""Spark as the warehouse engine: the raw tables as Parquet in a lake (dlt's filesystem destination), the views in
Spark's catalog (created over Spark Connect), readers on any endpoint of the same catalog.

Plain Parquet has no transactions, no merge and no delete, so nothing already in the lake changes: every load adds
its files, and one small file of ours, the publication, says which loads and which (run, load) pairs readers see.
The commit step writes the next publication; `publish` re-points one view to it (docs/spark.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from pipelines.errors import WarehouseError
from pipelines.tables.declaration import ColumnType
from pipelines.warehouse import settings
from pipelines.warehouse.attempts import LoadAttempt
from pipelines.warehouse.engine import Names
from pipelines.warehouse.file_lock import exclusive_load_lock
from pipelines.warehouse.paths import state_home
from pipelines.warehouse.spark import attempts as lake_attempts
from pipelines.warehouse.spark import compaction, relations
from pipelines.warehouse.spark.configuration import SparkSettings
from pipelines.warehouse.spark.connection import SparkConnection, connected
from pipelines.warehouse.spark.lake import PUBLICATION_SCHEMA, PUBLICATIONS, Lake
from pipelines.warehouse.spark.lease import Lease
from pipelines.warehouse.spark.results import arrow_batches

TYPE_NAMES = {
    ColumnType.BIGINT: "bigint",
    ColumnType.TEXT: "string",
    ColumnType.DOUBLE: "double",
    ColumnType.TIMESTAMP: "timestamp",
    ColumnType.JSON: "string",
}
# Views created side by side on a new catalog (or new definitions): Spark's driver analyses each request on a thread
# of its own; more than its cores gains nothing.
CREATE_VIEWS_AT_ONCE = 4


class SparkLake:
    """The `Engine` for one lake and the Spark catalog over it (see pipelines/warehouse/engine.py)."""

    name = "Spark"
    dialect = "spark"
    type_names = TYPE_NAMES
    row_id = ""  # nothing is deleted on a lake: no row needs telling apart
    loader_file_format = "parquet"
    mart_views_schema = settings.ANALYTICS_SCHEMA  # readers read the views; the publication moves under them
    stores_nul_characters = True  # Parquet and Spark strings keep U+0000

    def __init__(self, spark_settings: SparkSettings) -> None:
        self.spark_settings = spark_settings
        self.lake = Lake(spark_settings.lake_url)
        self.location = spark_settings.lake_url
        self.working_dir = state_home() / f"spark-{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.lake.root).strip('_')}"
        self._next_publication: Any = None  # the commit step's, until publish shows it
        self._must_compact = False  # rows were deleted, or a full refresh superseded every earlier load
        self._drop_at_once = False  # rows were deleted: no file may keep them for the previous publication's readers
        self._lease: Lease | None = None  # while a load holds the lake

    @property
    def driver_error(self) -> type[Exception]:
        from pyspark.errors import PySparkException

        return PySparkException

    def load_settings(self) -> dict[str, Any]:
        return {"lake_url": self.spark_settings.lake_url}

    @contextmanager
    def load_lock(self) -> Iterator[None]:
        """A lease in the lake, for loads from every host that shares it (spark/lease.py: renewed while the load
        runs, fenced before anything readers see changes); inside this host's flock, which keeps dlt's working
        folder to one load and turns a second load on the same host away without touching the lake."""
        with exclusive_load_lock(self.working_dir / "load.lock"):
            lease = Lease(self.lake, self.spark_settings.lease_seconds, self.location)
            try:
                lease.acquire()
            except OSError as exc:
                raise WarehouseError(f"Cannot take the load lock in the lake at {self.location}: "
                                     f"{exc.strerror or exc}; nothing was changed.") from exc
            self._lease = lease
            try:
                yield
            finally:
                self._lease = None
                lease.release()

    def record_attempt(self, attempt: LoadAttempt) -> None:
        """In the lake (spark/attempts.py), so `status` on any host sees it; a lake that cannot be written is not
        this load's failure to report (its record then says it is running, with no lease standing)."""
        if self._lease is not None:
            with suppress(OSError, ValueError):
                lake_attempts.record_attempt(self.lake, self._lease, attempt)

    def recorded_attempts(self) -> tuple[LoadAttempt, Any, bool] | None:
        return lake_attempts.recorded_attempts(self.lake)

    def prepare_for_load(self) -> str | None:
        self.working_dir.mkdir(parents=True, exist_ok=True)
        return None

    def dlt_destination(self) -> Any:
        from dlt.destinations import filesystem

        return filesystem(bucket_url=self.spark_settings.lake_url)

    def fit_memory_to(self, largest_rows_bytes: int) -> None:
        """Nothing: dlt writes files; the cluster has its own memory settings."""

    def refresh_statistics(self) -> None:
        """Nothing: Spark reads Parquet footers as it plans."""

    def compact(self) -> None:
        """Rows were deleted (no conversations kept): compaction after the publish (spark/compaction.py), and the
        files holding them removed at once, even those a reader of the previous publication may still read."""
        self._must_compact = self._drop_at_once = True

    def supersede_from(self, load_id: str) -> None:
        """A full refresh's load: once complete it supersedes every earlier load, and the compaction after its
        publish removes their files (nothing is dropped before: readers keep the previous load meanwhile)."""
        compaction.mark_full_refresh(self.lake, load_id)
        self._must_compact = True

    def commit_loaded_runs(self) -> None:
        """The next publication, kept until `publish`: every load dlt completed, where its rows are (its files or a
        compaction's), and per run its newest claim among them (spark/lake.py says why a completed load holds its
        runs whole)."""
        self._next_publication = compaction.next_publication(self.lake)

    def known_run_signatures(self) -> dict[int, str]:
        if self._next_publication is None:
            self.commit_loaded_runs()
        rows = self._next_publication.filter(self._next_publication["probe_run_id"].is_valid()).to_pylist()
        return {int(row["probe_run_id"]): row["run_signature"] for row in rows}

    def apply_views(self) -> int:
        """The raw views, every macro as a persistent SQL function (views cannot call temporary functions) and every
        view of sql/; only when any of them changed since the last load (each takes Spark about a second to analyse,
        and readers need no new definitions: the publication moves under them). After dlt's load step: dlt refuses
        to start in a lake folder it did not make."""
        self.lake.seed_schemas()
        empty = self.lake.path(PUBLICATIONS, relations.EMPTY_PUBLICATION)
        if not self.lake.fs.exists(empty):
            self.lake.write_parquet(PUBLICATION_SCHEMA.empty_table(), empty)
        statements = relations.view_statements(self)
        with self.connect_for_load() as connection:
            self.check_lease()
            for schema in relations.SCHEMAS:
                connection.execute(f"create database if not exists {relations.NAMES.schema(schema)}")
            for statement in relations.file_table_statements(self.lake):
                connection.execute(statement)
            if not self._has_publication(connection):
                connection.execute(relations.publication_statement(self.lake, relations.EMPTY_PUBLICATION))
            raw_views = relations.raw_view_statements(self.lake)
            digest = relations.definitions_digest([*raw_views, *(statement for statement, _ in statements)])
            if relations.applied_digest(connection) != digest:  # the publication view's columns may be new too
                connection.execute(relations.publication_statement(self.lake, relations.shown_file(connection)))
                for statement in raw_views:
                    connection.execute(statement)
                self._create_views(connection, statements)
                connection.execute(relations.digest_statement(digest))
        return sum(1 for _, path in statements if "macros" not in path.parts)

    def _create_views(self, connection: SparkConnection, statements: list[tuple[str, Path]]) -> None:
        """The macros first, then the views side by side (CREATE_VIEWS_AT_ONCE requests at a time): each view is one
        statement over the raw views (inlining.py), so none waits for another, and Spark's driver analyses each
        on a core of its own."""
        from concurrent.futures import ThreadPoolExecutor

        def create(statement: str, path: Path) -> None:
            try:
                connection.execute(statement)
            except self.driver_error as exc:
                detail = str(exc).strip().splitlines()[0]
                raise WarehouseError(f"{path.relative_to(relations.SQL_DIR.parent)}: {detail}") from None

        macros = [(statement, path) for statement, path in statements if "macros" in path.parts]
        for statement, path in macros:
            create(statement, path)
        views = [(statement, path) for statement, path in statements if "macros" not in path.parts]
        with ThreadPoolExecutor(CREATE_VIEWS_AT_ONCE) as pool:
            for done in [pool.submit(create, statement, path) for statement, path in views]:
                done.result()

    def publish(self) -> None:
        """Show the commit step's publication, then compact when due (spark/compaction.py): the same rows published
        again from one file per table, and the files no publication in use reads removed."""
        publication = self._next_publication
        load_ids = [row for row in publication["load_id"].to_pylist() if row]
        file_name = f"{max(load_ids, key=float)}.parquet" if load_ids else relations.EMPTY_PUBLICATION
        reads = compaction.file_load_ids(publication)
        with self.connect_for_load() as connection:
            previous = relations.shown_publication(connection)
            self._show(connection, publication, file_name)
            if not reads or not (self._must_compact or len(reads) > self.spark_settings.compact_after_loads):
                return
            compacted_id, compacted = compaction.compact(self.lake, publication, self.check_lease)
            self._show(connection, compacted, f"{compacted_id}.parquet")
        keep = {compacted_id, f"{compacted_id}.parquet"}
        if not self._drop_at_once:  # a reader of the previous publications may still be reading their files
            keep |= {*reads, file_name, *previous}
        compaction.retire(self.lake, compacted_id, keep, load_ids, self.check_lease)

    def _show(self, connection: SparkConnection, publication: Any, file_name: str) -> None:
        """Write the publication under `file_name`, then re-point the one view every raw view reads; each step fenced
        (a file of that name may be what readers see, when a load that took over published the same loads)."""
        self.check_lease()
        self.lake.write_parquet(publication, self.lake.path(PUBLICATIONS, file_name))
        self.check_lease()
        connection.execute(relations.publication_statement(self.lake, file_name))

    def check_lease(self) -> None:
        """Right before the catalog changes: LoadLockLost when this load's lease was lost (a paused load whose lease
        expired must not publish over a load that took over)."""
        if self._lease is not None:
            try:
                self._lease.check()
            except OSError as exc:  # the lease cannot be confirmed: nothing may be published
                raise WarehouseError(f"Cannot check the load lock in the lake at {self.location}: "
                                     f"{exc.strerror or exc}; readers still see the previous load.") from exc

    def out_of_space_message(self) -> str:
        return f"The lake at {self.location} ran out of space during the load; readers still see the previous one."

    def published_identity(self) -> list[int]:
        with self.connect_for_load() as connection:
            if not self._has_publication(connection):
                return []
            publication = relations.NAMES.table(relations.STATE_SCHEMA, relations.PUBLICATION_VIEW)
            row = connection.execute(f"select count(*), max(cast(load_id as double)) from {publication}").fetchone()
        return [int(row[0]), int((row[1] or 0) * 1_000_000)]

    @contextmanager
    def connect_for_load(self) -> Iterator[SparkConnection]:
        with connected(self.spark_settings.connect_url, self.location) as connection:
            yield connection

    @contextmanager
    def connect_published(self) -> Iterator[SparkConnection]:
        """A session like any reader's. Spark Connect has no read-only sessions: `query` checks the user's statement
        before sending it (pipelines/readers/read_only_sql.py); other readers get read-only access from the catalog's
        and the lake's permissions (docs/spark.md)."""
        with connected(self.spark_settings.connect_url, self.location) as connection:
            if not self._has_publication(connection):
                raise WarehouseError(f"No warehouse in {self.location}; run `benchmarks-etl load --destination "
                                     "spark` first.")
            yield connection

    def names(self, connection: Any) -> Names:
        return relations.NAMES

    def function_definition(self, name: str, parameters: list[str], body: str) -> str:
        """A persistent SQL function over doubles; `name` comes quoted for PostgreSQL (views.macro_definitions)."""
        arguments = ", ".join(f"{parameter} double" for parameter in parameters)
        return f"create or replace function {name.replace(chr(34), '`')}({arguments}) returns double return {body}"

    def arrow_reader(self, connection: SparkConnection, sql: str, batch_rows: int) -> Any:
        """Streamed as the server sends it (pipelines/warehouse/spark/results.py)."""
        return arrow_batches(connection.session, sql, batch_rows)

    @staticmethod
    def _has_publication(connection: SparkConnection) -> bool:
        return connection.session.catalog.tableExists(f"{relations.STATE_SCHEMA}.{relations.PUBLICATION_VIEW}")


