"""The published warehouse, opened for reading: what `status`, `report`, `verify` and the demo start from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipelines.warehouse import introspect
from pipelines.warehouse.destinations import Warehouse, as_engine
from pipelines.warehouse.engine import Names


@contextmanager
def open_read_only(warehouse: Warehouse) -> Iterator[tuple[Any, Names]]:
    """A read-only connection to the published warehouse and its names; a clear error when there is none yet."""
    engine = as_engine(warehouse)
    with engine.connect_published() as connection:
        yield connection, engine.names(connection)


def view_row_counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows in every analytics view of the published warehouse, in name order."""
    with open_read_only(warehouse) as (connection, names):
        return introspect.view_row_counts(connection, names)
