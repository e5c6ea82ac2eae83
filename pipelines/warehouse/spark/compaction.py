"""The lake's compaction: every raw table's rows that one publication selects rewritten into one file, published in
their place, and the files no publication still in use reads removed (docs/spark.md, "Compaction").

Nothing in the lake is changed in place. A compaction writes `<C>.compacted.parquet` into every raw table's folder
(C: a new compaction id, `c` and 20 digits, which sorts after every earlier one and is never a load id), each row
under `_dlt_load_id` C with the load that brought it in `_original_load_id`; then its record
`benchmarks_state/compactions/<C>.json`, the loads its files hold, written last, so a record means whole files. A
publication reads a load's rows from the files of its `file_load_id`: the load's own, or C's. The files of the
loads C holds are then removed only when neither the publication shown now nor the one before it reads them.

A full refresh (`load --full-refresh`) is a load like any other whose id `mark_full_refresh` records: once it is
complete, the loads before it keep their place in the load history and no rows (`file_load_id` "").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.tables import RAW_TABLES
from pipelines.tables.declaration import LOAD_ID_COLUMN, Table
from pipelines.warehouse.spark.lake import (
    ARROW_TYPES,
    NO_FILES,
    ORIGINAL_LOAD_ID,
    PUBLICATIONS,
    Lake,
    file_load,
    publication_table,
)

COMPACTIONS = "benchmarks_state/compactions"
REFRESHES = "benchmarks_state/refreshes"
COMPACTED = "compacted.parquet"
BATCH_ROWS = 50_000  # rows read at a time from a file of an appended table


def is_compaction(name: str) -> bool:
    return name.startswith("c") and name[1:].isdigit()


def newest_compaction(lake: Lake) -> tuple[str, set[str]] | None:
    """The newest compaction whose record is written (its files whole): its id and the loads its files hold."""
    records = lake.json_records(lake.path(*COMPACTIONS.split("/")))
    if not records:
        return None
    name = max(records)
    return name.removesuffix(".json"), set(records[name]["loads"])


def mark_full_refresh(lake: Lake, load_id: str) -> None:
    """Before dlt loads the full refresh's package: it supersedes every earlier load once it is complete (a load that
    never completes changes nothing)."""
    lake.write_json(lake.path(*REFRESHES.split("/"), f"{load_id}.json"), {"load_id": load_id})


def file_loads(lake: Lake, loads: Iterable[str]) -> tuple[dict[str, str], str | None]:
    """load -> the file load holding its rows, for the completed `loads`, and the compaction they name (if any).
    Loads before the newest complete full refresh hold none."""
    loads = list(loads)
    refreshes = [name.removesuffix(".json") for name in lake.json_records(lake.path(*REFRESHES.split("/")))]
    floor = max((float(load) for load in refreshes if load in loads), default=None)
    compaction = newest_compaction(lake)
    held = compaction[1] if compaction else set()
    result = {}
    for load in loads:
        if floor is not None and float(load) < floor:
            result[load] = NO_FILES
        else:
            result[load] = compaction[0] if compaction and load in held else load
    return result, compaction[0] if compaction and held & set(result) else None


def next_publication(lake: Lake) -> pa.Table:
    """What the commit step publishes: every load dlt completed, where its rows are (its files, the newest
    compaction's, or none before a full refresh), and per run its newest claim among them."""
    loads = lake.completed_loads()
    loads_files, compacted = file_loads(lake, loads)
    live = {load for load, files in loads_files.items() if files}
    return publication_table(loads, lake.newest_claims(live, compacted), loads_files)


def compact(lake: Lake, publication: pa.Table, check: Callable[[], None]) -> tuple[str, pa.Table]:
    """Every raw table's rows `publication` selects, rewritten into one file per table under a new compaction id;
    returns that id and the publication reading them (the same loads and runs, so the same rows). `check`: the
    lease, confirmed before the record makes the files count."""
    loads = publication.filter(publication["probe_run_id"].is_null())
    runs = publication.filter(publication["probe_run_id"].is_valid())
    claims = pa.table({"probe_run_id": runs["probe_run_id"], ORIGINAL_LOAD_ID: runs["load_id"]})
    files = dict(zip(loads["load_id"].to_pylist(), loads["file_load_id"].to_pylist(), strict=True))
    compaction = _new_id(lake)
    for table in RAW_TABLES:
        _write_compacted(lake, table, _selected(lake, table, set(files.values()) - {NO_FILES}, claims), compaction)
    check()
    held = [load for load, file_load_id in files.items() if file_load_id]
    lake.write_json(lake.path(*COMPACTIONS.split("/"), f"{compaction}.json"), {"loads": held})
    inserted = dict(zip(loads["load_id"].to_pylist(), loads["inserted_at"].to_pylist(), strict=True))
    file_loads = {load: compaction if file_load_id else NO_FILES for load, file_load_id in files.items()}
    return compaction, publication_table(inserted, runs.select(["probe_run_id", "load_id", "run_signature"]),
                                         file_loads)


def _new_id(lake: Lake) -> str:
    """After every compaction recorded so far, whatever the clock says."""
    newest = newest_compaction(lake)
    now = time.time_ns() // 1000
    return f"c{max(now, int(newest[0][1:]) + 1 if newest else 0):020d}"


def _selected(lake: Lake, table: Table, read: set[str], claims: pa.Table) -> Iterator[pa.Table]:
    """What the raw view shows of `table` under a publication reading the file loads `read`, in parts: an appended
    table's rows of the recorded (run, load) pairs, a batch at a time (messages can be most of the lake), and a list
    table's newest row per key (the lists are small)."""
    import pyarrow.compute as pc

    parts = (part for path in lake.table_files(table.name) if file_load(path) in read
             for part in _declared_batches(lake, table, path))
    if table.is_appended:
        for part in parts:
            yield part.join(claims, keys=["probe_run_id", ORIGINAL_LOAD_ID], join_type="left semi")
        return
    rows = pa.concat_tables([_schema(table).empty_table(), *parts])
    ranked = rows.append_column("_order", pc.cast(rows[ORIGINAL_LOAD_ID], pa.float64())).sort_by(
        [*((key, "ascending") for key in table.primary_key), ("_order", "descending")])
    keys = list(zip(*(ranked[key].to_pylist() for key in table.primary_key), strict=True))
    first = [index == 0 or keys[index] != keys[index - 1] for index in range(len(keys))]
    yield ranked.filter(pa.array(first, pa.bool_())).drop_columns(["_order"])


def _schema(table: Table) -> pa.Schema:
    fields = [pa.field(column.name, ARROW_TYPES[column.type]) for column in table.columns]
    return pa.schema([*fields, pa.field(LOAD_ID_COLUMN, pa.string()), pa.field(ORIGINAL_LOAD_ID, pa.string())])


def _declared_batches(lake: Lake, table: Table, path: str) -> Iterator[pa.Table]:
    """One file's rows in the declared columns, a batch at a time, each row under the load that brought it (a
    column dlt did not write is NULL, as Spark reads it)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schema = _schema(table)
    with lake.fs.open(path, "rb") as file:
        for batch in pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS):
            columns = [batch.column(field.name).cast(field.type) if field.name in batch.schema.names
                       else pa.nulls(batch.num_rows, field.type) for field in schema]
            columns[-1] = pc.coalesce(columns[-1], columns[-2])  # the original load: dlt's files hold their own
            yield pa.table(columns, schema=schema)


def _write_compacted(lake: Lake, table: Table, parts: Iterable[pa.Table], compaction: str) -> None:
    """`parts` into the table's file of `compaction`, each row under its id (`_original_load_id`: its load's)."""
    import pyarrow.parquet as pq

    def write(partial: str) -> None:
        with pq.ParquetWriter(partial, _schema(table), filesystem=lake.fs) as writer:
            writer.write_table(_schema(table).empty_table())
            for part in parts:
                ids = pa.array([compaction] * part.num_rows, pa.string())
                writer.write_table(part.set_column(part.schema.get_field_index(LOAD_ID_COLUMN), LOAD_ID_COLUMN, ids))

    lake.write_whole(lake.path("benchmarks_raw", table.name, f"{compaction}.{COMPACTED}"), write)


def retire(lake: Lake, compaction: str, keep: set[str], loads: Iterable[str], check: Callable[[], None]) -> int:
    """Remove the raw tables' files of `loads` and of compactions before `compaction` that no publication in `keep`
    (file loads, and publication file names) reads, then those publications and records. Files of loads not
    named (a load not complete yet, or one from another holder after this one's lease was lost) are never
    touched. Returns how many files were removed."""
    retired = set(loads) | {name for name in _compactions_in(lake) if name < compaction}
    retired -= keep
    check()
    removed = 0
    for table in RAW_TABLES:
        for path in lake.table_files(table.name):
            if file_load(path) in retired:
                lake.remove(path)
                removed += 1
    for path in lake.fs.glob(lake.path(PUBLICATIONS, "*.parquet")):
        if Path(path).name.removesuffix(".parquet") in retired and Path(path).name not in keep:
            lake.remove(path)
    for path in lake.json_files(lake.path(*COMPACTIONS.split("/"))):
        if Path(path).stem in retired:
            lake.remove(path)
    return removed


def _compactions_in(lake: Lake) -> set[str]:
    """Every compaction id with files or a record in the lake (a compaction killed before its record left files)."""
    names = {Path(path).stem for path in lake.json_files(lake.path(*COMPACTIONS.split("/")))}
    for table in RAW_TABLES:
        names |= {file_load(path) for path in lake.table_files(table.name) if is_compaction(file_load(path))}
    return names


def file_load_ids(publication: Any) -> set[str]:
    """The file loads a publication reads."""
    loads = publication.filter(publication["probe_run_id"].is_null())
    return {load for load in loads["file_load_id"].to_pylist() if load}
