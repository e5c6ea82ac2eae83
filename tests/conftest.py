"""Shared fixtures: a clean environment for every test, a real simulator on a free port, the throwaway PostgreSQL
server, and warehouses on every engine (empty, or copies of ones loaded once: tests/prebuilt.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simulator.crafted_api import small_world
from simulator.server import Simulator
from simulator.throwaway_postgres import PostgresUnavailable, ThrowawayPostgres
from simulator.throwaway_spark import SparkUnavailable, ThrowawaySpark
from tests.prebuilt import Prebuilt
from tests.throwaway import started
from tests.warehouses import CREDENTIALS, ENGINES, Warehouse, Warehouses, copy_file


@pytest.fixture(autouse=True)
def api_key_and_cwd(monkeypatch, tmp_path):
    """Every test runs in its own directory with the simulator's default key configured as a user would (the
    environment variable); the subprocess helpers (tests/commands.py, tests/loads.py) set their own."""
    monkeypatch.setenv("SOURCES__BENCHMARKS__API_KEY", "demo-key")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # loads into PostgreSQL keep their state here
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture()
def start_simulator() -> Iterator[Callable[..., Simulator]]:
    """start_simulator(scale="tiny", **options) -> a running Simulator; all are stopped after the test."""
    started: list[Simulator] = []

    def start(scale: str = "tiny", **options) -> Simulator:
        simulator = Simulator(scale=scale, **options).start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture()
def simulator(start_simulator) -> Simulator:
    return start_simulator("tiny")


@pytest.fixture()
def worlds(start_simulator) -> list[Simulator]:
    """The simulator's tiny world at epoch 0 and, in a second simulator, at epoch 1 (what tests/prebuilt.py's
    warehouses hold)."""
    return [start_simulator("tiny"), start_simulator("tiny", epoch=1)]


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """One throwaway PostgreSQL server for the whole session (simulator/throwaway_postgres.py); each test makes its
    own database.
    Without Debian's postgresql package the test is skipped with the reason, but never under CI=true."""
    directory = Path(tempfile.mkdtemp(prefix="benchmarks-postgres-"))
    server = started(ThrowawayPostgres(directory), PostgresUnavailable, "PostgreSQL")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark() -> Iterator[ThrowawaySpark]:
    """One throwaway Spark cluster for the whole session (simulator/throwaway_spark.py: a master, two workers, a
    Thrift server with Spark Connect inside it; 40 to 65 s to start, 1.7 GB once up); each test loads its own lake
    and databases.
    Without java or pyspark the test is skipped with the reason, but never under CI=true."""
    cluster = ThrowawaySpark(Path(tempfile.mkdtemp(prefix="benchmarks-spark-")))
    started(cluster, SparkUnavailable, "Spark")
    yield cluster
    cluster.stop()


# Warehouses on every engine: a test that takes `warehouse` (or `warehouses`) runs once per engine, as
# test_x[duckdb] and test_x[postgres]; `@on_engines("duckdb")` (tests/warehouses.py) narrows it.

@pytest.fixture(params=ENGINES)
def engine_name(request) -> str:
    return request.param


@pytest.fixture()
def warehouses(engine_name, request, tmp_path) -> Iterator[Warehouses]:
    """Empty warehouses on the test's engine, as many as it asks for (`new()`); PostgreSQL's dropped after."""
    server = request.getfixturevalue("postgres") if engine_name == "postgres" else None
    cluster = request.getfixturevalue("spark") if engine_name == "spark" else None
    made = Warehouses(engine_name, tmp_path, server, cluster)
    yield made
    made.drop()


@pytest.fixture()
def warehouse(warehouses, monkeypatch) -> Warehouse:
    """An empty warehouse on the test's engine; on PostgreSQL, DESTINATION__POSTGRES__CREDENTIALS names it (as a
    user would), so that commands without options reach it."""
    made = warehouses.new()
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


@pytest.fixture(scope="session")
def prebuilt(tmp_path_factory) -> Prebuilt:
    """Warehouses loaded once for the session (tests/prebuilt.py), for tests to copy."""
    return Prebuilt(tmp_path_factory.mktemp("prebuilt"))


@pytest.fixture()
def loaded_warehouse(warehouses, prebuilt, monkeypatch) -> Warehouse:
    """The test's warehouse, holding the tiny world at epoch 0 as a clean load makes it (a copy of one loaded once
    per engine); on PostgreSQL named by DESTINATION__POSTGRES__CREDENTIALS, as `warehouse` is."""
    made = warehouses.copy(prebuilt.world(warehouses, (0,), served=False))
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


@pytest.fixture()
def crafted_file(tmp_path, prebuilt) -> Warehouse:
    """A DuckDB file holding small_world() (tests/crafted_api.py) as a load makes it: a copy of one loaded once."""
    return copy_file(prebuilt.crafted(Warehouses("duckdb", tmp_path), "small_world", small_world()),
                     tmp_path / "w.duckdb")


@pytest.fixture(scope="module")
def module_environment(tmp_path_factory) -> Iterator[Path]:
    """What conftest's per-test environment gives, for a module's shared fixtures (they start before it): the
    simulator's key, a state folder, a working directory of the module's own (yielded)."""
    folder = tmp_path_factory.mktemp("module")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCES__BENCHMARKS__API_KEY", "demo-key")
        patch.setenv("XDG_STATE_HOME", str(folder / "state"))
        patch.delenv(CREDENTIALS, raising=False)
        patch.chdir(folder)
        yield folder
