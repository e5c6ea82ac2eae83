"""Shared fixtures: a real simulator on a free port, and a clean environment for every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from simulator.server import Simulator


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
