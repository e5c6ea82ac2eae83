"""Where a warehouse's files live: the published file, and dlt's working folder beside it."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines import settings
from pipelines.errors import ConfigError


def resolve_db_path(db: str | Path) -> Path:
    """Absolute path of the warehouse file; refuses names whose stem would clash with our schema names."""
    path = Path(db).expanduser().resolve()
    if path.is_dir():
        raise ConfigError(f"--db {db} is a directory; give a file name such as {settings.DEFAULT_DB_FILE}.")
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


def write_text_atomically(path: Path, text: str) -> None:
    """Write under a temporary name, then rename into place, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
