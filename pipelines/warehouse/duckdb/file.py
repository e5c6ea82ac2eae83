"""DuckDB as the warehouse engine: one file readers open, replaced atomically after each load.

dlt loads into a private working copy in a hidden folder beside the file (`.<file>.dlt/working.duckdb`); only when
the load and the views succeeded is that copy published over the file with one rename. A reader holding the old
file keeps a consistent old version and never blocks a load.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines import interrupts
from pipelines.errors import WarehouseError
from pipelines.tables.declaration import ColumnType
from pipelines.warehouse import paths, settings
from pipelines.warehouse.duckdb import memory as duckdb_memory
from pipelines.warehouse.duckdb import ownership as duckdb_ownership
from pipelines.warehouse.duckdb import storage as duckdb_storage
from pipelines.warehouse.engine import Names, quote
from pipelines.warehouse.file_lock import exclusive_load_lock
from pipelines.warehouse.sql_steps import TransactionalSqlSteps

if TYPE_CHECKING:
    import duckdb

    from pipelines.warehouse.duckdb.configuration import DuckDbSettings

TYPE_NAMES = {
    ColumnType.BIGINT: "bigint",
    ColumnType.TEXT: "varchar",
    ColumnType.DOUBLE: "double",
    ColumnType.TIMESTAMP: "timestamptz",
    ColumnType.JSON: "json",
}


class DuckDbFile(TransactionalSqlSteps):
    """The `Engine` for a DuckDB file at `db_path` (see pipelines/warehouse/engine.py)."""

    name = "DuckDB"
    dialect = "duckdb"
    type_names = TYPE_NAMES
    row_id = "rowid"
    loader_file_format = "parquet"
    mart_views_schema = settings.ANALYTICS_SCHEMA  # readers read the views themselves: the file is swapped whole
    stores_nul_characters = True  # text stays byte-exact, U+0000 included

    def __init__(self, db_path: Path, load_settings: DuckDbSettings | None = None) -> None:
        """`load_settings`: a load's (storage format, memory limit), as dlt resolved them (duckdb/configuration.py);
        an engine opened to read or verify needs none."""
        self.db_path = db_path
        self.working_dir = paths.working_dir_for(db_path)
        self.working_db = paths.working_db_for(db_path)
        self.location = str(db_path)
        self.dlt_dir = paths.dlt_folder_for(self.working_dir)  # dlt's pipeline: in working_dir unless its path is odd
        self.duckdb_settings = load_settings
        self._dlt_config: dict[str, Any] = {}

    def _settings_for_load(self) -> DuckDbSettings:
        if self.duckdb_settings is None:
            raise WarehouseError(f"{self.db_path} was opened to read, not to load: no load settings were given.")
        return self.duckdb_settings

    def load_settings(self) -> dict[str, Any]:
        return dict(self._settings_for_load())

    @property
    def driver_error(self) -> type[Exception]:
        import duckdb  # imported when the file is opened: a load that finds nothing changed never opens it

        return duckdb.Error

    @contextmanager
    def load_lock(self) -> Iterator[None]:
        """The load's lock, held for the whole load. A file at --db that cannot be a DuckDB database is refused
        first, without DuckDB opening it and without creating a working folder beside it (the tables are checked in
        `prepare_for_load`: the short way of a load that finds nothing changed never opens the file)."""
        with paths.permission_errors_named():
            problem = duckdb_ownership.header_problem(self.db_path)
            if problem is not None and not self.working_dir.exists():
                raise WarehouseError(problem)
            with exclusive_load_lock(self.working_dir / "load.lock"):
                if problem is not None:
                    self._refuse(problem)
                yield

    def _refuse(self, problem: str) -> None:
        """Refuse a file that is not ours; a working copy seeded from whatever was there before goes too, so that
        nothing of it survives to fail (or be published by) a later load."""
        for leftover in (self.working_db, self.working_db.with_name(self.working_db.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise WarehouseError(problem)

    def record_attempt(self, attempt: Any) -> None:
        """Nothing: the working folder's record (pipelines/warehouse/attempts.py) is beside the file, on the one
        machine."""

    def recorded_attempts(self) -> None:
        return None

    def prepare_for_load(self) -> str | None:
        """The working file exists, in the configured storage format: seeded from the published warehouse when only
        that one is there, created empty when neither is, converted when it is in another format. Returns a line
        for the user when it converted. A published file this project did not create is refused (`_refuse`)."""
        problem = duckdb_ownership.not_ours(self.db_path)
        if problem is not None:
            self._refuse(problem)
        self.working_dir.mkdir(parents=True, exist_ok=True)
        if self.working_db.exists() and duckdb_ownership.header_problem(self.working_db) is not None:
            self.working_db.unlink()  # ours, but not a database (seeded by an earlier version from a foreign file)
        if not self.working_db.exists():
            if not self.db_path.exists():
                duckdb_storage.create_empty(self.working_db, self._settings_for_load().duckdb_storage_version)
                return None
            _copy_atomically(self.db_path, self.working_db)
        found = duckdb_storage.storage_tag(self.working_db)
        storage_version = self._settings_for_load().duckdb_storage_version
        if found == duckdb_storage.tag_of_version(storage_version, self.working_dir):
            return None
        paths.ensure_room(self.working_dir, self.working_db.stat().st_size, "convert the warehouse's storage format")
        duckdb_storage.convert(self.working_db, storage_version)
        return (
            f"Converted the warehouse from DuckDB storage format {found} to {storage_version}; readers that "
            "have the old file open keep reading it until they reopen it."
        )

    def dlt_destination(self) -> Any:
        import dlt
        from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

        # dlt applies this dict to each connection it opens, when it opens it: fit_memory_to can still raise the limit
        self._dlt_config = duckdb_memory.load_config(self._settings_for_load().duckdb_memory_limit)
        credentials = DuckDbCredentials(str(self.working_db), global_config=self._dlt_config)
        return dlt.destinations.duckdb(credentials=credentials)

    def fit_memory_to(self, largest_rows_bytes: int) -> None:
        """Give dlt's insert the memory rows with this much text need (huge messages), if more than configured."""
        configured = self._settings_for_load().duckdb_memory_limit
        self._dlt_config["memory_limit"] = duckdb_memory.limit_for(configured, largest_rows_bytes)

    def compact(self) -> None:
        """A DuckDB file keeps the bytes of deleted rows in its blocks until they are reused, and readers get the
        whole file: every table is copied into a new file (the views are re-created after, from sql/)."""
        paths.ensure_room(self.working_dir, self.working_db.stat().st_size, "rewrite the warehouse without the "
                          "deleted rows")
        duckdb_storage.convert(self.working_db, self._settings_for_load().duckdb_storage_version)

    def connect_for_load(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return connect(self.working_db)

    def refresh_statistics(self) -> None:
        """Nothing: DuckDB keeps its statistics up to date as it writes."""

    def publish(self) -> None:
        """Replace the published file with the working file in one atomic rename.

        A reader that has the old file open keeps reading the old, complete version; the next reader opens the new
        one. Nobody ever sees a half-applied load.
        """
        paths.remove_stale_temporaries(self.db_path)  # left by a load killed while publishing
        with connect(self.working_db) as connection:
            connection.execute("checkpoint")  # everything in the main file, nothing left in the WAL
        wal = self.working_db.with_name(self.working_db.name + ".wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise WarehouseError(f"{self.working_db} still has a write-ahead log after a checkpoint; not publishing.")
        _copy_atomically(self.working_db, self.db_path)

    def out_of_space_message(self) -> str:
        size = max((path.stat().st_size for path in (self.db_path, self.working_db) if path.exists()), default=0)
        return paths.out_of_space_message(
            self.working_dir, "finish the load", 2 * size, shutil.disk_usage(self.working_dir).free
        )

    def published_identity(self) -> list[int]:
        try:
            stat = self.db_path.stat()
        except OSError:
            return []
        return [stat.st_size, stat.st_mtime_ns, stat.st_ino]

    @contextmanager
    def connect_published(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self.db_path.exists():
            raise WarehouseError(
                f"No warehouse at {self.db_path}; run `benchmarks-etl load --db {self.db_path}` first."
            )
        with connect(self.db_path, read_only=True) as connection:
            yield connection

    def names(self, connection: duckdb.DuckDBPyConnection) -> Names:
        """Every name with its catalog too (`"<file stem>".analytics.x`): DuckDB names the catalog after the file's
        stem, and a catalog and a schema of the same name (a file called analytics.duckdb) are ambiguous."""
        # fetchall: a result left unfinished would make the connection refuse the next relation (arrow_reader)
        catalog = connection.execute("select current_database()").fetchall()[0][0]
        return Names(prefix=f"{quote(catalog)}.")

    def function_definition(self, name: str, parameters: list[str], body: str) -> str:
        return f"create or replace macro {name}({', '.join(parameters)}) as {body}"

    def arrow_reader(self, connection: duckdb.DuckDBPyConnection, sql: str, batch_rows: int) -> Any:
        return connection.sql(sql).to_arrow_reader(batch_rows)


@contextmanager
def connect(db_path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection; writers get the load's bounded memory (DuckDB spills beyond it) instead of 80% of the machine.
    Readers get DuckDB's own locks (settings.DUCKDB_READ_CONFIG) and spill into a private folder removed after."""
    import duckdb

    with _read_only_spill_folder() if read_only else nullcontext() as spill:
        config = dict(settings.DUCKDB_LOAD_CONFIG) if not read_only else {
            **settings.DUCKDB_READ_CONFIG, "temp_directory": str(spill)
        }
        try:
            connection = duckdb.connect(str(db_path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise WarehouseError(f"Cannot open the warehouse {db_path}: {str(exc).splitlines()[0]}") from None
        try:
            with interrupts.interruptible(connection.interrupt):  # Ctrl-C / SIGTERM stop a long statement
                yield connection
        finally:
            connection.close()


@contextmanager
def _read_only_spill_folder() -> Iterator[Path]:
    """A folder only this process uses (mode 0700, in the system's temporary folder), gone when the reader closes."""
    folder = Path(tempfile.mkdtemp(prefix="benchmarks-etl-reader-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_atomically(source: Path, target: Path) -> None:
    paths.ensure_room(target.parent, source.stat().st_size, f"write {target}")
    with paths.replaced_atomically(target) as temporary:
        shutil.copyfile(source, temporary)
