"""Shared fixtures: a clean environment for every test, and a real simulator on a free port."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from simulator.server import Simulator


@pytest.fixture(autouse=True)
def api_key_and_cwd(monkeypatch, tmp_path):
    """Every test runs in its own directory with the simulator's default key configured as a user would (the
    environment variable); subprocess helpers in tests/commands.py set their own."""
    monkeypatch.setenv("SOURCES__BENCHMARKS__API_KEY", "demo-key")
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
