"""Where a warehouse's files live: the published file, dlt's working folder beside it, the state folder of loads
into a server; and the one atomic-write helper."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import ConfigError, OutOfSpaceError, WarehouseError
from pipelines.warehouse import settings

# Paths dlt may put in its own SQL unquoted (DuckDB's `read_parquet('<file>')`); any other character makes dlt's
# folder move (`dlt_folder_for`).
SQL_SAFE_PATH = re.compile(r"[A-Za-z0-9_./+,=@%:-]*")
PERMISSION_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


def resolve_db_path(db: str | Path) -> Path:
    """Absolute path of the warehouse file; refuses names whose stem would clash with our schema names."""
    path = Path(db).expanduser().resolve()
    if "\\" in str(path):
        raise ConfigError(
            f"--db {path}: DuckDB reads a backslash in a path as a separator, so no DuckDB could open this file; "
            "choose a path without one."
        )
    if path.is_dir():
        raise WarehouseError(f"--db {db} is a directory; give a file name such as {settings.DEFAULT_DB_FILE}.")
    if path.stem.lower() in settings.RESERVED_DB_STEMS:
        raise ConfigError(
            f"--db {path.name}: DuckDB would name its catalog '{path.stem}', which clashes with a schema the "
            "warehouse uses; choose another file name."
        )
    return path


def working_dir_for(db_path: Path) -> Path:
    """dlt's working files (pending load packages, state) sit in a hidden folder beside the warehouse file.

    Keeping them with the database, not in the current directory, lets cron run the load from anywhere and lets
    an interrupted load be finished by the next one.
    """
    return db_path.parent / f".{db_path.name}.dlt"


def working_db_for(db_path: Path) -> Path:
    """The file dlt loads into. Readers use the published file `db_path`, replaced atomically after each load."""
    return working_dir_for(db_path) / "working.duckdb"


@contextmanager
def replaced_atomically(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` to write; on success it is synced and renamed over `target`.

    A reader sees the previous file or the complete new one, never half of one, and a crash leaves at most a
    `.<name>.<pid>.tmp` file behind (`remove_stale_temporaries` clears those). The one atomic-write helper.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def ensure_room(directory: Path, needed: int, purpose: str) -> None:
    """Stop early, with a clear message, when `needed` bytes clearly cannot be written in `directory`."""
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise OutOfSpaceError(out_of_space_message(directory, purpose, needed, free))


def out_of_space_message(directory: Path, purpose: str, needed: int, free: int) -> str:
    return (
        f"Not enough free space in {directory} to {purpose}: about {_megabytes(needed)} needed, {_megabytes(free)} "
        "free; the warehouse keeps its previous contents. Free some space there (a load needs room for its working "
        "file and one copy of the warehouse) or choose another --db location, then run the load again."
    )


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def remove_stale_temporaries(target: Path) -> None:
    """Delete what a process killed inside `replaced_atomically(target)` left."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    with replaced_atomically(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


@contextmanager
def permission_errors_named() -> Iterator[None]:
    """A permission error on the warehouse's files or its working folder (read-only directory or file system) is a
    WarehouseError (exit 6) that names the path, not an unexpected error."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in PERMISSION_ERRNOS or isinstance(exc, OutOfSpaceError):
            raise
        where = exc.filename if exc.filename is not None else "the warehouse's files"
        raise WarehouseError(
            f"Cannot write {where}: {exc.strerror or exc}; the warehouse keeps its previous contents. Make the "
            "directory of --db and its working folder writable for this user, or choose another --db location."
        ) from exc


def dlt_folder_for(working_dir: Path) -> Path:
    """Where dlt keeps its pipeline (pending packages, state): the working folder, unless its path holds characters
    dlt's own SQL would break on (it writes its files' real paths into DuckDB's `read_parquet('...')` unquoted: a
    `'`, and to be safe anything but plain ASCII). Then a folder of the user's state home named after the path's
    digest: the same for every load of that warehouse, so an interrupted load is still finished by the next one."""
    if SQL_SAFE_PATH.fullmatch(str(working_dir)):
        return working_dir
    digest = hashlib.sha256(str(working_dir).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    folder = state_home() / f"duckdb-{digest}"
    if not SQL_SAFE_PATH.fullmatch(str(folder)):
        raise WarehouseError(
            f"Neither the warehouse's folder nor the state folder {folder} has a path dlt can load from (it cannot "
            "hold quotes or non-ASCII characters); set XDG_STATE_HOME to a plain path."
        )
    return folder


def state_home() -> Path:
    """Where loads into a server keep their local working state (dlt's pending packages, the change check's
    record, the last attempt): $XDG_STATE_HOME/benchmarks-etl, by default ~/.local/state/benchmarks-etl."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "benchmarks-etl"
