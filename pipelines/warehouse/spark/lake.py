"""The lake's files, written and read by the loader itself (pyarrow over fsspec, any URL dlt's filesystem destination
accepts): dlt's Parquet files of each raw table, an empty file giving each table its declared schema, dlt's record of
every load it completed, and the publications, each a whole description of what readers see.

    <lake>/benchmarks_raw/<table>/<load id>.<file id>.parquet   dlt (appended: every load adds files)
    <lake>/benchmarks_raw/<table>/<compaction id>.compacted.parquet  ours: what a publication read (compaction.py)
    <lake>/benchmarks_raw/<table>/0.schema.parquet              ours: no rows, the declared columns (seed_schemas)
    <lake>/benchmarks_raw/_dlt_loads/<schema>__<load id>.jsonl  dlt, once a load completed: every file is there
    <lake>/benchmarks_publications/<load id>.parquet            ours: one per publish (publication_table)
    <lake>/benchmarks_state/leases/<lease id>.json              ours: the load lock (spark/lease.py)
    <lake>/benchmarks_state/attempts/<start>-<lease id>.json    ours: load attempts for `status` (spark/attempts.py)
    <lake>/benchmarks_state/compactions/<compaction id>.json    ours: the loads a compaction's files hold
    <lake>/benchmarks_state/refreshes/<load id>.json            ours: a full refresh's load (compaction.py)

A file's "file load" is the first part of its name (the load id, or the compaction id): which publications read it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.tables import RAW_TABLES, RUN_LOADS
from pipelines.tables.declaration import LOAD_ID_COLUMN, ColumnType
from pipelines.warehouse import settings

PUBLICATIONS = "benchmarks_publications"
SCHEMA_FILE = "0.schema.parquet"  # sorts before every load's files: Spark takes a folder's schema from its first file
ARROW_TYPES = {
    ColumnType.BIGINT: pa.int64(), ColumnType.TEXT: pa.string(), ColumnType.DOUBLE: pa.float64(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"), ColumnType.JSON: pa.string(),
}
# In a compaction's files, the load that brought each row (their _dlt_load_id is the compaction's id)
ORIGINAL_LOAD_ID = "_original_load_id"
# One row per load readers see (probe_run_id NULL) and one per run recorded as loaded, with the load of its rows. A
# load's file_load_id says which files hold its rows: its own, a compaction's (compaction.py), or none ("": a load
# superseded by a full refresh, kept for the load history); NULL in publications written before compaction existed.
PUBLICATION_SCHEMA = pa.schema([
    ("load_id", pa.string()), ("inserted_at", pa.timestamp("us", tz="UTC")),
    ("probe_run_id", pa.int64()), ("run_signature", pa.string()), ("file_load_id", pa.string()),
])
NO_FILES = ""


class Lake:
    """The lake at `url` (a local folder or an fsspec URL), as the loader reads and writes it."""

    def __init__(self, url: str) -> None:
        from fsspec.core import url_to_fs

        self.url = url
        self.fs, self.root = url_to_fs(url)
        # what Spark is given: a URI (a plain path would be resolved against the cluster's default file system)
        self.spark_url = url if "://" in url else Path(url).resolve().as_uri()

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def spark_path(self, *parts: str) -> str:
        return "/".join([self.spark_url.rstrip("/"), *parts])

    def seed_schemas(self) -> None:
        """An empty Parquet file with its declared columns in every raw table's folder, so the views work before dlt
        first writes a table (no test case had a conversation yet) and read the declared types."""
        for table in RAW_TABLES:
            path = self.path(settings.RAW_SCHEMA, table.name, SCHEMA_FILE)
            if not self.fs.exists(path):
                fields = [pa.field(c.name, ARROW_TYPES[c.type]) for c in table.columns]
                schema = pa.schema([*fields, pa.field(LOAD_ID_COLUMN, pa.string())])
                self.write_parquet(schema.empty_table(), path)

    def completed_loads(self) -> dict[str, Any]:
        """load id -> when dlt recorded it complete, for every load dlt completed into the lake."""
        folder = self.path(settings.RAW_SCHEMA, "_dlt_loads")
        loads = {}
        for path in self.fs.glob(f"{folder}/*.jsonl"):
            with self.fs.open(path, "r") as file:
                record = json.loads(file.readline())
            loads[str(record["load_id"])] = record["inserted_at"]
        return loads

    def table_files(self, table: str) -> list[str]:
        """The Parquet files of a raw table's folder, listed afresh (hidden partial files left out)."""
        folder = self.path(settings.RAW_SCHEMA, table)
        self.fs.invalidate_cache(folder)
        return sorted(path for path in self.fs.glob(f"{folder}/*.parquet") if not Path(path).name.startswith("."))

    def newest_claims(self, load_ids: set[str], compaction: str | None = None) -> pa.Table:
        """Per run, the newest claim (run_loads) among the loads `load_ids`: (probe_run_id, load_id, run_signature),
        read from those loads' files and from `compaction`'s (which holds the claims it kept under their loads' ids).
        A completed load holds every row its claims count (dlt completes a load only when all its files are written;
        a retried file is written again under the same name), so a claim there is a run loaded whole."""
        import pyarrow.parquet as pq

        tables = []
        for path in self.table_files(RUN_LOADS.name):
            if file_load(path) in load_ids:
                tables.append(pq.read_table(path, columns=["probe_run_id", "run_signature", LOAD_ID_COLUMN],
                                            filesystem=self.fs))
            elif compaction is not None and file_load(path) == compaction:
                table = pq.read_table(path, columns=["probe_run_id", "run_signature", ORIGINAL_LOAD_ID],
                                      filesystem=self.fs)
                tables.append(table.rename_columns(["probe_run_id", "run_signature", LOAD_ID_COLUMN]))
        claim = pa.schema([("probe_run_id", pa.int64()), ("run_signature", pa.string()), (LOAD_ID_COLUMN, pa.string())])
        newest: dict[int, tuple[str, str]] = {}  # dlt writes the load id dictionary-encoded, a compaction does not
        for row in (pa.concat_tables([table.cast(claim) for table in tables]).to_pylist() if tables else []):
            load_id, run = row[LOAD_ID_COLUMN], row["probe_run_id"]
            if load_id not in load_ids:
                continue
            if run not in newest or float(load_id) > float(newest[run][0]):
                newest[run] = (load_id, row["run_signature"])
        return pa.table({
            "probe_run_id": pa.array(list(newest), pa.int64()),
            "load_id": pa.array([load for load, _ in newest.values()], pa.string()),
            "run_signature": pa.array([signature for _, signature in newest.values()], pa.string()),
        })

    def write_parquet(self, table: pa.Table, path: str) -> None:
        """Written under a temporary name, then moved into place: a reader never finds half a file."""
        import pyarrow.parquet as pq

        self.write_whole(path, lambda partial: pq.write_table(table, partial, filesystem=self.fs))

    def write_json(self, path: str, record: dict[str, Any]) -> None:
        """Whole or not at all, as `write_parquet`: a reader on another host never parses half a record."""
        self.write_whole(path, lambda partial: self.fs.pipe_file(partial, json.dumps(record).encode("utf-8")))

    def write_whole(self, path: str, write: Callable[[str], object]) -> None:
        """`write` writes under a temporary name beside `path`, then the file is moved into place."""
        self.fs.makedirs(str(Path(path).parent), exist_ok=True)
        partial = f"{Path(path).parent}/.{Path(path).name}.partial"
        write(partial)
        self.fs.mv(partial, path)

    def json_files(self, folder: str) -> list[str]:
        """The JSON files in `folder`, listed afresh (fsspec caches listings on object stores; a lock must see the
        store as it is now), in name order."""
        self.fs.invalidate_cache(folder)
        return sorted(self.fs.glob(f"{folder}/*.json"), key=lambda path: Path(path).name)

    def json_records(self, folder: str) -> dict[str, dict[str, Any]]:
        """file name -> record, for every record of ours in `folder`, listed afresh. A file gone or unreadable
        meanwhile is left out."""
        records = {Path(path).name: self.read_json(path) for path in self.json_files(folder)}
        return {name: record for name, record in records.items() if record is not None}

    def read_json(self, path: str) -> Any:
        """The record at `path`; None when it is gone or unreadable."""
        try:
            return json.loads(self.fs.cat_file(path))
        except (OSError, ValueError):
            return None

    def remove(self, path: str) -> None:
        """Gone, whether or not it still was there (another host may have removed it first)."""
        with suppress(FileNotFoundError):
            self.fs.rm_file(path)


def file_load(path: str) -> str:
    """The first part of a lake file's name: the load (or compaction) whose file it is (`0` for the schema file)."""
    return Path(path).name.rsplit(".", 2)[0]


def publication_table(loads: dict[str, Any], claims: pa.Table, file_loads: dict[str, str]) -> pa.Table:
    """What readers see after a publish: the loads (their list rows, read from the files of `file_loads[load]`) and
    each run's recorded load (its test cases)."""
    load_rows = {"load_id": list(loads), "inserted_at": [_timestamp(value) for value in loads.values()],
                 "probe_run_id": [None] * len(loads), "run_signature": [None] * len(loads),
                 "file_load_id": [file_loads[load] for load in loads]}
    run_rows = {"load_id": claims.column("load_id").to_pylist(), "inserted_at": [None] * claims.num_rows,
                "probe_run_id": claims.column("probe_run_id").to_pylist(),
                "run_signature": claims.column("run_signature").to_pylist(), "file_load_id": [None] * claims.num_rows}
    return pa.concat_tables([pa.table(rows, schema=PUBLICATION_SCHEMA) for rows in (load_rows, run_rows)])


def _timestamp(value: Any) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value) if isinstance(value, str) else value
