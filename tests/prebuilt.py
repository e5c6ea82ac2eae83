"""Warehouses loaded once per test session and copied by every test that starts from one: a clean load of the
simulator's world at epoch 0 (or 0 then 1) costs seconds, a copy (a file and its working folder, or a PostgreSQL
database made from a template) a fraction of one. Their snapshots are what a clean load makes: the references of
the convergence tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from simulator.server import Simulator
from tests.loads import DEMO_KEY, load
from tests.warehouses import RelationRows, Warehouse, Warehouses, snapshot, working_dir


@dataclass(frozen=True)
class Built:
    """A warehouse loaded once, and where its working state lives (it depends on the environment it was built
    in: XDG_STATE_HOME for PostgreSQL)."""

    warehouse: Warehouse
    working_dir: Path


class Prebuilt:
    """Built on first use, per engine, scale and sequence of epochs loaded one after another."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[tuple, Built] = {}
        self.snapshots: dict[tuple, dict[str, RelationRows]] = {}

    def world(self, warehouses: Warehouses, epochs: tuple[int, ...] = (0,), scale: str = "tiny") -> Built:
        """A warehouse on `warehouses`' engine holding what clean loads of `epochs` make (never load into it: copy
        it with `warehouses.copy`)."""
        key = (warehouses.engine_name, scale, epochs)
        if key not in self.built:
            self.built[key] = self._build(warehouses, scale, epochs)
        return self.built[key]

    def expected(self, warehouses: Warehouses, epochs: tuple[int, ...] = (0,), scale: str = "tiny",
                 raw: bool = True) -> dict[str, RelationRows]:
        """The snapshot (tests/warehouses.py) of `world(...)`: what a clean load of those epochs makes."""
        key = (warehouses.engine_name, scale, epochs, raw)
        if key not in self.snapshots:
            self.snapshots[key] = snapshot(self.world(warehouses, epochs, scale).warehouse, raw=raw)
        return self.snapshots[key]

    def _build(self, warehouses: Warehouses, scale: str, epochs: tuple[int, ...]) -> Built:
        name = f"{warehouses.engine_name}-{scale}-epochs-{'-'.join(map(str, epochs))}"
        # Kept for the whole session: on the session's server, or in the session's folder.
        keeper = Warehouses(warehouses.engine_name, self.folder, warehouses.server)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SOURCES__BENCHMARKS__API_KEY", DEMO_KEY)
            patch.setenv("XDG_STATE_HOME", str(self.folder / "state"))
            warehouse = keeper.new(name)
            with Simulator(scale=scale) as simulator:
                for epoch in epochs:
                    simulator.set_epoch(epoch)
                    load(warehouse, simulator.url)
            return Built(warehouse, working_dir(warehouse))
