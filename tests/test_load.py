"""End to end, on every engine: the simulator over real HTTP -> dlt -> the warehouse -> the analytics views equal to
the simulator's world; incremental loads fetch exactly what changed; a failed load changes nothing."""

from __future__ import annotations

import pytest

from pipelines.errors import ApiAuthError, ApiError, ApiUnavailableError, ConfigError
from simulator.crafted_api import BLANKS, blank_world
from simulator.world import World
from tests.loads import load, load_routes
from tests.snapshots import assert_same_relations, rows, snapshot, values
from tests.warehouse_checks import assert_warehouse_matches, requested_test_case_paths
from tests.warehouses import Warehouses, on_engines


def assert_a_full_load_equals_the_simulator_data(sim, target) -> None:  # noqa: ANN001
    result = load(target, sim.url)
    world = World(scale="tiny")
    assert_warehouse_matches(target, world)
    expected_runs = sum(1 for _ in world.iter_runs())
    assert result.runs_listed == expected_runs == result.runs_fetched
    assert result.test_cases == world.counts()["test_cases"]
    assert result.requests == len(sim.requests)


@on_engines("duckdb", "postgres", "spark", spark_group="spark-loads")
def test_full_load_equals_the_simulator_data(start_simulator, warehouse):
    assert_a_full_load_equals_the_simulator_data(start_simulator(scale="tiny"), warehouse)


@pytest.mark.parametrize("db_name", ["Bench-Analytics.duckdb", "my warehouse.duckdb"])
def test_full_load_equals_the_simulator_data_whatever_the_file_is_called(start_simulator, tmp_path, db_name):
    assert_a_full_load_equals_the_simulator_data(start_simulator(scale="tiny"), tmp_path / db_name)


def test_world_change_fetches_exactly_new_and_rescored_runs(start_simulator, loaded_warehouse):
    warehouse = loaded_warehouse  # the tiny world at epoch 0
    sim = start_simulator(scale="tiny")
    old_runs = {run["id"]: run for _, _, run in World(scale="tiny").iter_runs()}

    sim.set_epoch(1)
    sim.clear_requests()
    assert not load(warehouse, sim.url).unchanged

    new_world = World(scale="tiny", epoch=1)
    new_runs = {run["id"]: (model_id, run) for model_id, _, run in new_world.iter_runs()}
    signature_keys = ("totalCount", "passedCount", "failedCount", "score")
    changed = {
        f"/api/v2/benchmarks/models/{model_id}/runs/{run_id}/test-cases"
        for run_id, (model_id, run) in new_runs.items()
        if run_id not in old_runs or any(run[k] != old_runs[run_id][k] for k in signature_keys)
    }
    assert changed, "the world change should add or re-score runs"
    fetched = requested_test_case_paths(sim.requests)
    assert sorted(fetched) == sorted(changed)
    assert_warehouse_matches(warehouse, new_world)
    removed = set(old_runs) - set(new_runs)
    assert removed, "the world change should remove runs"


def test_types_filter_loads_only_those_types(start_simulator, warehouse):
    sim = start_simulator(scale="tiny")
    world = World(scale="tiny")
    first_type = world.types()[0]["id"]
    load(warehouse, sim.url, type_ids=[first_type])
    assert_warehouse_matches(warehouse, world, type_ids=[first_type])


def test_unknown_type_id_is_a_config_error(start_simulator, warehouse):
    sim = start_simulator(scale="tiny")
    with pytest.raises(ConfigError, match="Unknown benchmark type"):
        load(warehouse, sim.url, type_ids=[9999])


def test_full_refresh_reloads_everything(start_simulator, loaded_warehouse):
    """On PostgreSQL dlt's drop_sources drops the raw tables, which the server refuses while views read them."""
    warehouse = loaded_warehouse  # the tiny world at epoch 0
    sim = start_simulator(scale="tiny")
    before = snapshot(warehouse)
    sim.clear_requests()
    result = load(warehouse, sim.url, full_refresh=True)
    assert result.runs_fetched == result.runs_listed > 0
    assert len(requested_test_case_paths(sim.requests)) == result.runs_listed
    assert_same_relations(before, snapshot(warehouse), what="after --full-refresh")
    assert len(rows(warehouse, "load_history")) == 2, "dlt's load records survive a full refresh"


@pytest.mark.parametrize(
    "make_target, error, message",
    [
        (lambda sim: {"base_url": sim.url, "source_options": {"api_key": "wrong"}}, ApiAuthError, "rejected the key"),
        (lambda sim: {"base_url": sim.url + "/nope"}, ApiError, "not found"),
        (lambda sim: {"base_url": "http://127.0.0.1:9", "source_options": {"max_attempts": 2}}, ApiUnavailableError,
         "Cannot reach"),
    ],
    ids=["bad-key", "wrong-base-url", "unreachable"],
)
def test_failures_leave_the_warehouse_as_it_was(start_simulator, loaded_warehouse, make_target, error, message):
    warehouse = loaded_warehouse  # the tiny world at epoch 0
    sim = start_simulator(scale="tiny")
    before = snapshot(warehouse)
    sim.set_epoch(1)  # there would be something to load
    with pytest.raises(error, match=message) as raised:
        load(warehouse, **make_target(sim))
    assert "demo-key" not in str(raised.value)
    assert snapshot(warehouse) == before


@pytest.mark.parametrize("db_name", ["benchmarks_raw.duckdb", "benchmarks_stg.duckdb", "analytics.duckdb",
                                     "Analytics.db"])
def test_reserved_database_names_are_refused(tmp_path, db_name):
    with pytest.raises(ConfigError, match=f"^--db {db_name}: DuckDB would name its catalog .* clashes") as raised:
        load(tmp_path / db_name, "http://127.0.0.1:9")
    assert "\n" not in str(raised.value)
    assert not (tmp_path / db_name).exists()


@on_engines("duckdb")
def test_every_table_reaches_duckdb_as_parquet(start_simulator, warehouse, monkeypatch):
    """dlt's default for row dicts is one INSERT ... VALUES statement per table, which DuckDB parses with ~300 MB
    at the large scale; Parquet files keep the load step's memory flat."""
    import dlt

    from pipelines.load import steps

    def keeping_job_files(engine):
        pipeline = make_pipeline(engine)
        dlt.config["load.delete_completed_jobs"] = False
        return pipeline

    make_pipeline = steps.make_pipeline
    monkeypatch.setattr(steps, "make_pipeline", keeping_job_files)
    sim = start_simulator(scale="tiny")
    load(warehouse, sim.url)
    jobs = list(warehouse.engine().working_dir.glob("benchmarks_warehouse/load/loaded/*/completed_jobs/*"))
    # .sql: the merge statements dlt generates; _dlt_*: dlt's own one-row state record
    data_jobs = [job.name for job in jobs if not job.name.endswith(".sql") and not job.name.startswith("_dlt")]
    tables = {name.split(".")[0] for name in data_jobs}
    assert {"probe_runs", "models", "test_cases", "test_case_messages"} <= tables
    assert [name for name in data_jobs if not name.endswith(".parquet")] == []


BLANK_COLUMNS = {
    "benchmark_types": ("name", "description"), "models": ("name", "provider", "url", "description"),
    "probe_runs": ("probe_name", "probe_category_name"),
    "test_cases": ("attack", "strategy", "red_teamer", "variation"), "test_case_messages": ("role", "content"),
}


def test_empty_null_and_whitespace_text_is_kept_exactly(warehouse, prebuilt, tmp_path):
    """PostgreSQL used to store "" as NULL (dlt's COPY has FORCE_NULL on every nullable column). Each text column
    holds exactly the three values the API sent, and every view equals DuckDB's."""
    load_routes(warehouse, blank_world())
    for table, columns in BLANK_COLUMNS.items():
        for column in columns:
            found = values(warehouse, f'select distinct "{column}" from {{analytics}}."{table}"')
            assert sorted(repr(value) for (value,) in found) == sorted(map(repr, BLANKS)), f"{table}.{column}"
    categories = {value for (value,) in values(warehouse, "select distinct category from {analytics}.model_scores")}
    assert categories >= {"", " \t "}
    on_duckdb = prebuilt.crafted(Warehouses("duckdb", tmp_path), "blank_world", blank_world())
    assert_same_relations(prebuilt.snapshot_of(on_duckdb, raw=False), snapshot(warehouse),
                          what=f"{warehouse.engine_name} against DuckDB")
