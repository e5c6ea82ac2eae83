"""Warehouses loaded once per test session and copied by every test that starts from one: a clean load of the
simulator's world at epoch 0 (or 0 then 1) costs seconds, a copy (a file and its working folder, or a PostgreSQL
database made from a template) a fraction of one. Their snapshots are what a clean load makes: the references of
the convergence tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulator.server import Simulator
from tests.loads import DEMO_KEY, load, load_routes
from tests.snapshots import RelationRows, snapshot
from tests.warehouses import Warehouse, Warehouses, working_dir


@dataclass(frozen=True)
class Built:
    """A warehouse loaded once, and where its working state lives (it depends on the environment it was built
    in: XDG_STATE_HOME for PostgreSQL)."""

    warehouse: Warehouse
    working_dir: Path


def reads_raw(warehouse: Warehouse) -> bool:
    """Whether a convergence test compares the raw test cases and messages too (nothing doubled there): not on
    Spark, whose raw folders keep every load's rows by design (nothing is deleted in a lake; the views read the
    published loads' rows), so there the analytics relations, test cases and messages among them, are compared."""
    return warehouse.engine_name != "spark"


class Prebuilt:
    """Built on first use, per engine, scale and sequence of epochs loaded one after another."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[tuple, Built] = {}
        self.snapshots: dict[tuple, dict[str, RelationRows]] = {}

    def world(self, warehouses: Warehouses, epochs: tuple[int, ...] = (0,), scale: str = "tiny",
              served: bool = True) -> Built:
        """A warehouse on `warehouses`' engine holding what clean loads of `epochs` make (never load into it: copy
        it with `warehouses.copy`). On Spark, `served`: the catalog shows it again (a copy needs only its files)."""
        key = (warehouses.engine_name, scale, epochs)
        if key not in self.built:
            self.built[key] = self._build(warehouses, scale, epochs)
        elif warehouses.engine_name == "spark" and served:  # the cluster's one catalog may serve another lake now
            self.built[key].warehouse.attached()
        return self.built[key]

    def reference(self, warehouses: Warehouses, epochs: tuple[int, ...] = (0,)) -> dict[str, RelationRows]:
        """What a clean load of the tiny world's `epochs` makes, as the convergence tests compare a warehouse with
        it (`reads_raw`). On Spark, DuckDB's clean load: tests/test_spark.py shows every analytics relation of a
        lake equal to DuckDB's row for row, and a Spark clean load and its snapshot would cost minutes more."""
        if warehouses.engine_name == "spark":
            return self.expected(Warehouses("duckdb", warehouses.folder), epochs, raw=False)
        return self.expected(warehouses, epochs)

    def crafted(self, warehouses: Warehouses, name: str, routes: dict) -> Built:
        """A warehouse holding a clean load of a crafted API (tests/crafted_api.py) serving `routes`; `name` says
        which routes (the cache's key)."""
        key = (warehouses.engine_name, "crafted", name)
        if key not in self.built:
            with self._environment():
                warehouse = self._keeper(warehouses).new(f"{warehouses.engine_name}-crafted-{name}")
                load_routes(warehouse, routes)
                self.built[key] = Built(warehouse, working_dir(warehouse))
        return self.built[key]

    def expected(self, warehouses: Warehouses, epochs: tuple[int, ...] = (0,), scale: str = "tiny",
                 raw: bool = True) -> dict[str, RelationRows]:
        """The snapshot (tests/warehouses.py) of `world(...)`: what a clean load of those epochs makes."""
        return self.snapshot_of(self.world(warehouses, epochs, scale), raw=raw)

    def snapshot_of(self, built: Built, raw: bool = True) -> dict[str, RelationRows]:
        key = (built.warehouse, raw)
        if key not in self.snapshots:
            self.snapshots[key] = snapshot(built.warehouse, raw=raw)
        return self.snapshots[key]

    def _build(self, warehouses: Warehouses, scale: str, epochs: tuple[int, ...]) -> Built:
        with self._environment():
            warehouse = self._keeper(warehouses).new(f"{warehouses.engine_name}-{scale}-epochs-"
                                                     f"{'-'.join(map(str, epochs))}")
            with Simulator(scale=scale) as simulator:
                for epoch in epochs:
                    simulator.set_epoch(epoch)
                    load(warehouse, simulator.url)
            return Built(warehouse, working_dir(warehouse))

    def _keeper(self, warehouses: Warehouses) -> Warehouses:
        """Kept for the whole session: on the session's server, or in the session's folder."""
        return Warehouses(warehouses.engine_name, self.folder, warehouses.server, warehouses.cluster)

    @contextmanager
    def _environment(self) -> Iterator[None]:
        """The key, and working state of the session's own (XDG_STATE_HOME), whatever test builds it."""
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SOURCES__BENCHMARKS__API_KEY", DEMO_KEY)
            patch.setenv("XDG_STATE_HOME", str(self.folder / "state"))
            yield
