"""dlt's PostgreSQL destination, with two changes: text keeps "" and NULL apart, and every job checks the load's lock.

dlt 1.31 loads CSV with `COPY ... (NULL '', FORCE_NULL(every nullable column))`, so a quoted empty string ("")
becomes NULL. Its two CSV writers differ: Arrow's writes NULL as an empty field and "" as `""`, which COPY tells
apart without FORCE_NULL; Python's csv module (the writer of rows given as dicts) writes both as `""` (Python 3.11
has no QUOTE_NOTNULL), so no COPY option can tell them apart. Hence: the tables the source yields as Arrow batches
(test cases and messages, the bulk) go through our COPY without FORCE_NULL; the lists, given as dicts, go through
INSERT ... VALUES, which keeps NULL and "" apart (they are small: thousands of rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.common.destination.client import HasFollowupJobs, LoadJob, PreparedTableSchema, RunnableLoadJob
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.storages.file_storage import FileStorage
from dlt.common.storages.load_storage import ParsedLoadJobFileName
from dlt.destinations.impl.postgres.factory import postgres
from dlt.destinations.impl.postgres.postgres import PostgresClient

from pipelines.errors import BenchmarksEtlError
from pipelines.tables import TEST_CASE_MESSAGES, TEST_CASES
from pipelines.warehouse.postgres import lock as pg_lock

# Yielded as Arrow batches (pipelines/api/source.py): CSV through COPY. Every other table: INSERT.
ARROW_TABLES = frozenset({TEST_CASES.name, TEST_CASE_MESSAGES.name})


def file_format_for(
    preferred: str, supported: Sequence[str], /, *, table_schema: dict[str, Any]
) -> tuple[str, list[str]]:
    """dlt's per-table choice of file format (its `loader_file_format_selector`): CSV for the Arrow tables, INSERT
    for the rest. No parquet: it would need the ADBC driver."""
    formats = [name for name in supported if name != "parquet"]
    return ("csv" if table_schema.get("name") in ARROW_TABLES else "insert_values"), formats


class NullKeepingCsvCopyJob(RunnableLoadJob, HasFollowupJobs):
    """COPY of a CSV file Arrow wrote (header line, comma, NULL as an empty unquoted field, "" quoted), inside a
    transaction that first checks this load still holds its lock."""

    def run(self) -> None:
        sql_client = self._job_client.sql_client
        with FileStorage.open_zipsafe_ro(self._file_path, "rb") as file:
            header = file.readline().decode("utf-8").strip().split(",")
            columns = ",".join(sql_client.escape_column_name(name.strip('"'), quote=True) for name in header)
            table = sql_client.make_qualified_table_name(self.load_table_name)
            copy = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT CSV, DELIMITER ',', NULL '', ENCODING 'UTF8')"
            with sql_client.begin_transaction(), sql_client.native_connection.cursor() as cursor:
                _check_fence(cursor)
                cursor.copy_expert(copy, file, size=8192)


class FencedPostgresClient(PostgresClient):
    """dlt's client; each job checks the lock as it starts, and CSV goes through NullKeepingCsvCopyJob."""

    def update_stored_schema(self, *args: Any, **kwargs: Any) -> Any:
        """The first thing the load step does with the warehouse (in the main thread): a load that lost its lock
        fails here, before any job, with LoadLockLost itself."""
        if self.sql_client.native_connection is not None:
            with self.sql_client.native_connection.cursor() as cursor:
                pg_lock.check_active_fence(cursor)
        return super().update_stored_schema(*args, **kwargs)

    def create_load_job(
        self, table: PreparedTableSchema, file_path: str, load_id: str, restore: bool = False
    ) -> LoadJob:
        if ParsedLoadJobFileName.parse(file_path).file_format == "csv":
            return NullKeepingCsvCopyJob(file_path)
        job = super().create_load_job(table, file_path, load_id, restore)
        if isinstance(job, RunnableLoadJob):
            job.run = _fenced(job)  # type: ignore[method-assign]
        return job


def _check_fence(cursor: Any) -> None:
    """In a job: a lost lock fails the job for good (dlt retries any other exception)."""
    try:
        pg_lock.check_active_fence(cursor)
    except BenchmarksEtlError as exc:
        raise DestinationTerminalException(str(exc)) from exc


def _fenced(job: RunnableLoadJob) -> Any:
    """The job's `run`, after a check that this load still holds its lock (on the job's own connection)."""
    run = job.run

    def fenced_run() -> None:
        with job._job_client.sql_client.native_connection.cursor() as cursor:
            _check_fence(cursor)
        run()

    return fenced_run


class benchmarks_postgres(postgres):  # noqa: N801 - dlt names destination factories in lower case
    """The destination factory: dlt's PostgreSQL with the client above and the per-table file formats."""

    def _raw_capabilities(self) -> Any:
        caps = super()._raw_capabilities()
        caps.loader_file_format_selector = file_format_for
        return caps

    @property
    def client_class(self) -> type[PostgresClient]:
        return FencedPostgresClient
