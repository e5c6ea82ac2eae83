"""The Spark lake's compaction (pipelines/warehouse/spark/compaction.py) and `load --full-refresh` on Spark, on the
session's cluster at the tiny scale: the files per table stay bounded over several loads; a reader planned against
the previous publication still reads the same rows after a compaction removed files; a compaction that fails
half-way leaves a lake the views read, and the next load converges to DuckDB's answers; no message text stays in
any Parquet file once conversations are off; a full refresh never shows readers an empty or a partial lake.

Two lakes, few loads and one full comparison each: a Spark load takes about a minute on this busy machine."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.tables import RAW_TABLES
from pipelines.warehouse.spark import compaction, relations
from pipelines.warehouse.spark.lake import NO_FILES, PUBLICATIONS, Lake
from tests.loads import load, load_process, wait_for_stage
from tests.snapshots import assert_same_relations, snapshot
from tests.warehouses import DuckDbWarehouse, SparkWarehouse

# numbers from several views, read in one statement: one publication's
STATE_SQL = ("select (select count(*) from analytics.test_cases) as test_cases, "
             "(select count(*) from analytics.models) as models, "
             "(select sum(total_count) from analytics.probe_runs) as total_count, "
             "(select count(*) from analytics.test_case_messages) as messages")
# schema file, the newest compaction, the one before (the previous publication's), the newest load's own files, and
# one more after a compaction that failed half-way
MOST_FILES = 5
KILLED_LEASE_SECONDS = 15  # the killed load's: how long the next load waits (renewed every 5 s until the kill)


@pytest.fixture()
def lakes(spark, tmp_path, monkeypatch) -> tuple[SparkWarehouse, DuckDbWarehouse]:
    lake = SparkWarehouse(spark, tmp_path / "lake").fresh()
    for name, value in lake.env.items():
        monkeypatch.setenv(name, value)
    return lake, DuckDbWarehouse(tmp_path / "duckdb" / "w.duckdb")


def state(lake: SparkWarehouse) -> tuple:
    with lake.engine(reading=True).connect_published() as connection:
        return connection.execute(STATE_SQL).fetchone()


def files_per_table(lake: SparkWarehouse) -> dict[str, int]:
    raw = lake.lake / "benchmarks_raw"
    return {table.name: len(list((raw / table.name).glob("[!.]*.parquet"))) for table in RAW_TABLES}


def shown(lake: SparkWarehouse) -> str:
    with lake.engine().connect_for_load() as connection:
        return relations.shown_file(connection)


def show(lake: SparkWarehouse, file_name: str) -> None:
    """Re-point the publication view, as it was when a reader planned its query."""
    engine = lake.engine()
    with engine.connect_for_load() as connection:
        connection.execute(relations.publication_statement(engine.lake, file_name))


@pytest.mark.xdist_group("spark-loads")
@pytest.mark.timeout(2400)
def test_compaction_bounds_the_files_keeps_the_previous_publication_and_recovers_from_a_failure(
    lakes, start_simulator, monkeypatch
):
    lake, duckdb_file = lakes
    monkeypatch.setenv("DESTINATION__SPARK__COMPACT_AFTER_LOADS", "1")  # compact at every load after the first
    sim = start_simulator("tiny")
    load(duckdb_file, sim.url)
    load(lake, sim.url)
    previous, before = shown(lake), state(lake)
    sim.set_epoch(1)
    load(duckdb_file, sim.url)
    load(lake, sim.url)
    assert max(files_per_table(lake).values()) <= MOST_FILES, files_per_table(lake)
    compactions = list((lake.lake / compaction.COMPACTIONS).glob("*.json"))
    assert len(compactions) == 1, "the second load compacted"
    first = compactions[0].stem
    assert all((lake.lake / "benchmarks_raw" / table.name / f"{first}.{compaction.COMPACTED}").exists()
               for table in RAW_TABLES)
    assert shown(lake) == f"{first}.parquet"
    after = state(lake)

    show(lake, previous)  # a reader that planned its query before the second load published
    try:
        assert state(lake) == before != after, "the previous publication's files are all still there, read whole"
    finally:
        show(lake, f"{first}.parquet")

    sim.set_epoch(2)
    load(duckdb_file, sim.url)
    real_write = compaction._write_compacted
    written: list[str] = []

    def dies_after_two_tables(*args, **kwargs) -> None:  # noqa: ANN002, ANN003 - compaction._write_compacted's
        if len(written) == 2:
            raise OSError("killed during the compaction")
        written.append(args[1].name)
        real_write(*args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(compaction, "_write_compacted", dies_after_two_tables)
        with pytest.raises(Exception) as failed:  # noqa: PT011 - whatever the load makes of it
            load(lake, sim.url)
    assert "killed during the compaction" in str(failed.value), failed.value
    orphans = [path.name.split(".")[0] for path in (lake.lake / "benchmarks_raw").glob("*/c*.compacted.parquet")
               if not path.name.startswith(first)]
    assert len(orphans) == 2 and len(set(orphans)) == 1, "two tables' files of a compaction without a record"
    assert state(lake)[0] > 0, "the load itself was published before its compaction"

    sim.set_epoch(3)
    load(duckdb_file, sim.url)
    load(lake, sim.url)
    assert max(files_per_table(lake).values()) <= MOST_FILES, files_per_table(lake)
    assert len(list((lake.lake / PUBLICATIONS).glob("*.parquet"))) <= MOST_FILES
    left = {path.name.split(".")[0] for path in (lake.lake / "benchmarks_raw").glob("*/c*.compacted.parquet")}
    assert orphans[0] not in left, "the half-written compaction's files were removed"

    sim.set_epoch(4)
    load(duckdb_file, sim.url)
    killed = load_process(lake, sim.url, env={"DESTINATION__SPARK__LEASE_SECONDS": str(KILLED_LEASE_SECONDS)})
    assert wait_for_stage(killed, "publish", timeout=900), killed.stderr.read()
    caught = _compaction_begins(lake.lake, known=left, process=killed)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert caught and killed.returncode == -signal.SIGKILL, "SIGKILLed while its compaction wrote files"
    time.sleep(KILLED_LEASE_SECONDS + 1)  # its lease expires
    load(lake, sim.url)  # the same world: a normal load after a killed one, which compacts
    assert max(files_per_table(lake).values()) <= MOST_FILES, files_per_table(lake)
    assert_same_relations(snapshot(duckdb_file), snapshot(lake), what="after compactions, a failed and a killed one:")


def _compaction_begins(lake: Path, known: set[str], process: subprocess.Popen) -> bool:
    """Wait until a new compaction's first file (or its partial file) is in the lake; False if the load ended."""
    raw = lake / "benchmarks_raw"
    while process.poll() is None:
        names = {path.name.lstrip(".").split(".")[0] for path in raw.glob("*/*c*.compacted.parquet*")}
        if names - known:
            return True
        time.sleep(0.01)
    return False


@pytest.mark.xdist_group("spark-loads")
@pytest.mark.timeout(2400)
def test_full_refresh_while_a_reader_reads_then_conversations_off_leaves_no_message_in_the_lake(
    lakes, start_simulator
):
    lake, duckdb_file = lakes
    sim = start_simulator("tiny")
    for epoch in (0, 1):
        sim.set_epoch(epoch)
        load(duckdb_file, sim.url)
        load(lake, sim.url)
    expected = state(lake)
    assert expected[0] and expected[3], "test cases and messages loaded"
    answers, failures, stop = [], [], threading.Event()

    def read() -> None:
        try:
            with lake.engine(reading=True).connect_published() as connection:
                while not stop.is_set():
                    answers.append(connection.execute(STATE_SQL).fetchone())
        except Exception as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    reader = threading.Thread(target=read, name="spark reader", daemon=True)
    reader.start()
    try:
        refreshed = load(lake, sim.url, full_refresh=True)
    finally:
        stop.set()
        reader.join(timeout=600)
    load(duckdb_file, sim.url, full_refresh=True)
    assert refreshed.runs_fetched > 0 and not failures, failures
    assert answers and all(answer == expected for answer in answers), f"a reader saw {set(answers)}, not {expected}"
    publication = pq.read_table(lake.lake / PUBLICATIONS / shown(lake))
    loads = publication.filter(publication["probe_run_id"].is_null())
    assert sorted(loads["file_load_id"].to_pylist()).count(NO_FILES) == 2, "the two loads before the refresh: none"
    assert_same_relations(snapshot(duckdb_file), snapshot(lake), what="after a full refresh:")

    contents = {value for path in (lake.lake / "benchmarks_raw" / "test_case_messages").glob("*.parquet")
                for value in pq.read_table(path, columns=["content"])["content"].to_pylist() if value}
    assert contents, "messages in the lake before"
    without = load(lake, sim.url, source_options={"conversations": False})
    assert without.runs_fetched > 0 and state(lake)[3] == 0
    left = [path for path in Path(lake.lake).rglob("*.parquet") if _strings(path) & contents]
    assert not left, f"message text still in {left}"


def _strings(path: Path) -> set[str]:
    table = pq.read_table(path)
    return {value for column in table.columns if pa.types.is_string(column.type)
            for value in column.to_pylist() if value}


# The lake alone (no cluster): what a compaction writes, what the next commit reads, what is removed ---------------
L1, L2, L3 = "1000.1", "1000.2", "1000.3"


def _lake_with_two_loads(folder: Path) -> Lake:
    """Two loads as dlt writes them: models (a list) read twice, run 11 fetched again in the second load, so its
    first test case and its message are superseded."""
    lake = Lake(str(folder))
    lake.seed_schemas()
    write = {
        "models": {L1: {"id": [1, 2], "name": ["a1", "b1"]}, L2: {"id": [1, 3], "name": ["a2", "c2"]}},
        "run_loads": {L1: {"probe_run_id": [10, 11], "run_signature": ["s10", "s11"], "test_cases": [1, 1],
                           "messages": [0, 1]},
                      L2: {"probe_run_id": [11], "run_signature": ["s11b"], "test_cases": [1], "messages": [0]}},
        "test_cases": {L1: {"id": [100, 110], "probe_run_id": [10, 11], "result": ["PASSED", "FAILED"]},
                       L2: {"id": [111], "probe_run_id": [11], "result": ["PASSED"]}},
        "test_case_messages": {L1: {"test_case_id": [110], "probe_run_id": [11], "position": [0],
                                    "content": ["a secret prompt"]}},
    }
    for table, loads in write.items():
        for load_id, columns in loads.items():
            rows = len(next(iter(columns.values())))
            load_ids = pa.array([load_id] * rows).dictionary_encode()  # as dlt writes it
            lake.write_parquet(pa.table({**columns, "_dlt_load_id": load_ids}),
                               lake.path("benchmarks_raw", table, f"{load_id}.x{table[:4]}.parquet"))
    for load_id in (L1, L2):
        _complete(lake, load_id)
    return lake


def _complete(lake: Lake, load_id: str) -> None:
    lake.fs.makedirs(lake.path("benchmarks_raw", "_dlt_loads"), exist_ok=True)
    lake.fs.pipe_file(lake.path("benchmarks_raw", "_dlt_loads", f"benchmarks__{load_id}.jsonl"),
                      json.dumps({"load_id": load_id, "inserted_at": "2026-12-07T10:00:00+00:00"}).encode())


def _rows(lake: Lake, table: str, compaction_id: str, *columns: str) -> list[tuple]:
    found = pq.read_table(lake.path("benchmarks_raw", table, f"{compaction_id}.{compaction.COMPACTED}"))
    return sorted(zip(*(found[column].to_pylist() for column in columns), strict=True))


def _claims(publication: pa.Table) -> list[tuple]:
    runs = publication.filter(publication["probe_run_id"].is_valid())
    return sorted(zip(runs["probe_run_id"].to_pylist(), runs["load_id"].to_pylist(), strict=True))


def test_a_compaction_keeps_what_the_publication_reads_and_the_next_commit_reads_it_from_there(tmp_path):
    lake = _lake_with_two_loads(tmp_path / "lake")
    before = compaction.next_publication(lake)
    assert _claims(before) == [(10, L1), (11, L2)]
    compaction_id, compacted = compaction.compact(lake, before, check=lambda: None)

    assert _rows(lake, "models", compaction_id, "id", "name", "_original_load_id") == [
        (1, "a2", L2), (2, "b1", L1), (3, "c2", L2)], "each key's newest row, under its own load"
    assert _rows(lake, "test_cases", compaction_id, "id", "_original_load_id") == [(100, L1), (111, L2)]
    assert _rows(lake, "test_case_messages", compaction_id, "test_case_id") == [], "the superseded run's message"
    assert set(pq.read_table(lake.path("benchmarks_raw", "models", f"{compaction_id}.{compaction.COMPACTED}"))
               ["_dlt_load_id"].to_pylist()) == {compaction_id}
    assert compaction.file_load_ids(compacted) == {compaction_id} and _claims(compacted) == _claims(before)

    removed = compaction.retire(lake, compaction_id, {compaction_id}, [L1, L2], check=lambda: None)
    assert removed == 7, "every file of the two loads; the schema files and the compaction's stay"
    again = compaction.next_publication(lake)
    assert compaction.file_load_ids(again) == {compaction_id} and _claims(again) == _claims(before)


def test_a_compaction_killed_before_its_record_is_never_read_and_the_next_one_removes_it(tmp_path, monkeypatch):
    lake = _lake_with_two_loads(tmp_path / "lake")
    real_write = compaction._write_compacted

    def dies_at_test_cases(lake: Lake, table, rows, compaction_id) -> None:  # noqa: ANN001
        if table.name == "test_cases":
            raise OSError("killed")
        real_write(lake, table, rows, compaction_id)

    monkeypatch.setattr(compaction, "_write_compacted", dies_at_test_cases)
    with pytest.raises(OSError):
        compaction.compact(lake, compaction.next_publication(lake), check=lambda: None)
    monkeypatch.undo()
    assert compaction.file_load_ids(compaction.next_publication(lake)) == {L1, L2}, "no record: the loads' own files"

    compaction_id, _ = compaction.compact(lake, compaction.next_publication(lake), check=lambda: None)
    compaction.retire(lake, compaction_id, {compaction_id}, [L1, L2], check=lambda: None)
    left = {path.name for path in (tmp_path / "lake" / "benchmarks_raw").glob("*/*.parquet")}
    assert left == {name for table in RAW_TABLES for name in ("0.schema.parquet", f"{compaction_id}.compacted.parquet")}


def test_a_full_refresh_supersedes_the_earlier_loads_only_once_it_is_complete(tmp_path):
    lake = _lake_with_two_loads(tmp_path / "lake")
    compaction.mark_full_refresh(lake, L3)
    unfinished = compaction.next_publication(lake)
    assert compaction.file_load_ids(unfinished) == {L1, L2}, "a refresh not complete changes nothing"
    lake.write_parquet(pa.table({"probe_run_id": [10], "run_signature": ["s10"], "test_cases": [0], "messages": [0],
                                 "_dlt_load_id": [L3]}), lake.path("benchmarks_raw", "run_loads", f"{L3}.r.parquet"))
    _complete(lake, L3)
    refreshed = compaction.next_publication(lake)
    assert compaction.file_load_ids(refreshed) == {L3} and _claims(refreshed) == [(10, L3)]
    loads = refreshed.filter(refreshed["probe_run_id"].is_null())
    assert dict(zip(loads["load_id"].to_pylist(), loads["file_load_id"].to_pylist(), strict=True)) == {
        L1: NO_FILES, L2: NO_FILES, L3: L3}, "the earlier loads stay in the load history, with no rows"
