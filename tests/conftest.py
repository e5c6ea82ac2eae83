"""Shared fixtures: a clean environment for every test, and a real simulator on a free port."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulator.server import Simulator
from simulator.throwaway_postgres import PostgresUnavailable, ThrowawayPostgres
from tests.warehouse_checks import pg_analytics_snapshot


@pytest.fixture(autouse=True)
def api_key_and_cwd(monkeypatch, tmp_path):
    """Every test runs in its own directory with the simulator's default key configured as a user would (the
    environment variable); subprocess helpers in tests/commands.py set their own."""
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


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """One throwaway PostgreSQL server for the whole session (simulator/throwaway_postgres.py); each test makes its
    own database.
    Without Debian's postgresql package the test is skipped with the reason, but never under CI=true."""
    directory = Path(tempfile.mkdtemp(prefix="benchmarks-postgres-"))
    server = ThrowawayPostgres(directory)
    try:
        server.start()
    except PostgresUnavailable as exc:
        server.stop()
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: {exc}")
        pytest.skip(str(exc))
    yield server
    server.stop()


@dataclass(frozen=True)
class PgDatabase:
    server: ThrowawayPostgres
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def connect(self):  # noqa: ANN201 - a context manager of a psycopg2 connection (autocommit)
        return self.server.connect(self.name)


@pytest.fixture()
def pg_database(postgres, monkeypatch) -> Iterator[PgDatabase]:
    """A fresh database on the session's PostgreSQL server, named by DESTINATION__POSTGRES__CREDENTIALS as a user
    would (subprocesses inherit it); dropped after the test."""
    database = PgDatabase(postgres, postgres.create_database())
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", database.url)
    yield database
    postgres.drop_database(database.name)


class Databases:
    """Fresh databases on the session's server; DESTINATION__POSTGRES__CREDENTIALS is pointed at one by `use`."""

    def __init__(self, server, monkeypatch) -> None:  # noqa: ANN001
        self.server, self.monkeypatch, self.created = server, monkeypatch, []

    def new(self) -> str:
        self.created.append(self.server.create_database())
        return self.created[-1]

    def use(self, name: str) -> None:
        self.monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", self.server.url(name))

    def snapshot(self, name: str) -> dict[str, list[tuple]]:
        with self.server.connect(name) as connection:
            return pg_analytics_snapshot(connection)

    def connect(self, name: str):  # noqa: ANN201
        return self.server.connect(name)


@pytest.fixture()
def databases(postgres, monkeypatch) -> Iterator[Databases]:
    made = Databases(postgres, monkeypatch)
    yield made
    for name in made.created:
        postgres.drop_database(name)
