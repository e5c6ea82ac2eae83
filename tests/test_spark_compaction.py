"""The Spark lake's compaction (pipelines/warehouse/spark/compaction.py) and `load --full-refresh` on Spark, on the
session's cluster at the tiny scale: the files per table stay bounded over several loads; a reader planned against
the previous publication still reads the same rows after a compaction removed files; a compaction that fails
half-way leaves a lake the views read, and the next load converges to DuckDB's answers; no message text stays in
any Parquet file once conversations are off; a full refresh never shows readers an empty or a partial lake.

Two lakes, few loads and one full comparison each: a Spark load takes about a minute on this busy machine."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.tables import RAW_TABLES
from pipelines.warehouse.spark import compaction, relations
from pipelines.warehouse.spark.lake import NO_FILES, PUBLICATIONS
from tests.loads import load
from tests.snapshots import assert_same_relations, snapshot
from tests.warehouses import DuckDbWarehouse, SparkWarehouse

pytestmark = [pytest.mark.xdist_group("spark-loads"), pytest.mark.timeout(2400)]
# numbers from several views, read in one statement: one publication's
STATE_SQL = ("select (select count(*) from analytics.test_cases) as test_cases, "
             "(select count(*) from analytics.models) as models, "
             "(select sum(total_count) from analytics.probe_runs) as total_count, "
             "(select count(*) from analytics.test_case_messages) as messages")
# schema file, the newest compaction, the one before (the previous publication's), the newest load's own files, and
# one more after a compaction that failed half-way
MOST_FILES = 5


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
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the load makes of it
            load(lake, sim.url)
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
    assert_same_relations(snapshot(duckdb_file), snapshot(lake), what="after compactions and a failed one:")


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
