"""The mass-removal guard (rsync's --max-delete): lists that would flag more than max_removal_fraction of the runs
(of the benchmark types read) or of the models analytics shows as removed are refused with exit 5 and a line naming
--allow-mass-removal; nothing is written, and `status` shows the refusal. A first load is never refused;
`load --allow-mass-removal` lifts the guard for that one load.
"""

from __future__ import annotations

import pytest

from pipelines.errors import MassRemovalError
from simulator.crafted_api import API, RUNS, CraftedApi, small_world
from simulator.world import World
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load
from tests.loads import load_routes as load_crafted
from tests.snapshots import rows, snapshot
from tests.warehouse_checks import assert_warehouse_matches
from tests.warehouses import on_engines

FRACTION = "SOURCES__BENCHMARKS__MAX_REMOVAL_FRACTION"
NO_RUNS = {RUNS: []}  # model 1 is still listed, its runs are not


def test_a_model_listed_without_its_runs_is_refused_and_allowed_for_one_load_only(warehouse, monkeypatch):
    monkeypatch.setenv(FRACTION, "0")  # any removal is too many
    db = warehouse
    load_crafted(db, small_world())  # a first load is never refused
    before = snapshot(db)
    with pytest.raises(MassRemovalError) as error:
        load_crafted(db, small_world(**NO_RUNS))
    assert error.value.exit_code == 5
    message = str(error.value)
    assert "1 of the 1 runs" in message and "--allow-mass-removal" in message and f"GET {API}/models/" in message
    assert snapshot(db) == before, "nothing was written"

    load_crafted(db, small_world(**NO_RUNS), allow_mass_removal=True)
    assert rows(db, "probe_runs") == []
    load_crafted(db, small_world())  # the run is back (nothing shown was removed)
    assert len(rows(db, "probe_runs")) == 1
    with pytest.raises(MassRemovalError):  # the allowance was for one load
        load_crafted(db, small_world(**NO_RUNS))


def test_models_gone_from_the_model_list_are_counted(warehouses, prebuilt):
    db = warehouses.copy(prebuilt.crafted(warehouses, "small_world", small_world()))
    before = snapshot(db)
    with pytest.raises(MassRemovalError, match=f"GET {API}/models would flag 1 of the 1 models") as error:
        load_crafted(db, small_world(**{f"{API}/models": []}))  # the model is still listed under its type, with its run
    assert "--allow-mass-removal" in str(error.value)
    assert snapshot(db) == before


@on_engines("duckdb")
def test_the_fraction_counts_every_run_of_the_warehouse_at_once(loaded_warehouse, start_simulator, monkeypatch):
    """Epoch 1 removes one model of four and some runs of the others: a scope can lose all its runs, the warehouse
    loses a known fraction. Just under that fraction is refused, exactly at it loads."""
    sim = start_simulator("tiny")
    db = loaded_warehouse  # the tiny world at epoch 0
    before, after = World(scale="tiny"), World(scale="tiny", epoch=1)
    shown = {run["id"] for _, _, run in before.iter_runs()}
    removed = shown - {run["id"] for _, _, run in after.iter_runs()}
    fraction = len(removed) / len(shown)
    assert 1 / 4 < fraction < 1 / 2, "more than the models' fraction (one of four), less than the default"
    sim.set_epoch(1)
    before_change = snapshot(db)
    monkeypatch.setenv(FRACTION, repr(fraction - 0.01))
    with pytest.raises(MassRemovalError, match=f"would flag {len(removed)} of the {len(shown)} runs"):
        load(db, sim.url)
    assert snapshot(db) == before_change
    monkeypatch.setenv(FRACTION, repr(fraction))
    load(db, sim.url)
    assert_warehouse_matches(db, after)


def two_types(type_1_runs: int, type_2_runs: int) -> dict:
    """small_world() with a second type; the runs beyond run 10 have no test cases (so none are fetched)."""
    world = small_world()
    run, model, details = world[RUNS][0], world[f"{API}/models"][0], world[f"{API}/models/1"]
    empty = {"totalCount": 0, "passedCount": 0, "failedCount": 0, "score": 0.0}
    world[RUNS] = [run, *({**run, **empty, "id": 11 + i} for i in range(type_1_runs - 1))][:type_1_runs]
    world.update({
        f"{API}/types": [*world[f"{API}/types"], {"id": 2, "name": "Safety", "description": None}],
        f"{API}/models?benchmarkTypeId=2": [model],
        f"{API}/models/1?benchmarkTypeId=2": details,
        f"{API}/models/1/runs?benchmarkTypeId=2": [{**run, **empty, "id": 20 + i} for i in range(type_2_runs)],
    })
    return world


def test_types_not_read_because_of_types_do_not_count(tmp_path):
    """Type 1 has 2 of the warehouse's 8 runs. Losing them is 25% of the warehouse but all of what a --types 1 load
    reads: refused. A --types 2 load does not read type 1, so type 1's missing runs are neither flagged nor counted."""
    db = tmp_path / "w.duckdb"
    load_crafted(db, two_types(2, 6))
    assert len(rows(db, "probe_runs")) == 8
    before = snapshot(db)
    with pytest.raises(MassRemovalError, match="2 of the 2 runs"):
        load_crafted(db, two_types(0, 6), type_ids=[1])
    assert snapshot(db) == before
    load_crafted(db, two_types(0, 6), type_ids=[2])
    assert len(rows(db, "probe_runs")) == 8


@on_engines("duckdb")
def test_status_shows_the_refusal_as_the_last_attempt(warehouses, prebuilt, tmp_path):
    db = warehouses.copy(prebuilt.crafted(warehouses, "small_world", small_world())).db
    with CraftedApi(small_world(**NO_RUNS)) as api:
        refused = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
        assert_one_line_error(refused, 5, "1 of the 1 runs", "--allow-mass-removal")
        status = run_cli("status", "--db", str(db), cwd=tmp_path)
        assert status.returncode == 1
        line = refused.stderr.strip().splitlines()[-1].removeprefix("error: ")
        assert "Last attempt: failed" in status.stdout and line in status.stdout
        assert "Health: PROBLEM" in status.stdout
        allowed = run_cli("load", "--db", str(db), "--base-url", api.url, "--allow-mass-removal", cwd=tmp_path)
        assert allowed.returncode == 0, allowed.stderr
    assert run_cli("status", "--db", str(db), cwd=tmp_path).returncode == 0


def test_a_fraction_outside_zero_to_one_is_a_setting_error(tmp_path):
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path,
                         env={FRACTION: "1.5"})
        assert api.requests == []
    assert_one_line_error(result, 2, "sources.benchmarks.max_removal_fraction", "between 0 and 1")
