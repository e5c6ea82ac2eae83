"""What `analytics` shows now, read before a load changes anything: the mass-removal guard's baseline
(pipelines/api/removals.py)."""

from __future__ import annotations

from collections import defaultdict

from pipelines.api.removals import ShownEntities
from pipelines.errors import WarehouseError
from pipelines.warehouse import settings
from pipelines.warehouse.engine import Engine
from pipelines.warehouse.introspect import table_exists

RUNS_VIEW, MODELS_VIEW = "probe_runs", "models"


def shown_entities(engine: Engine) -> ShownEntities:
    """The runs (per benchmark type) and models readers see in `analytics`; none before the first publish, so a
    first load is never refused."""
    try:
        with engine.connect_published() as connection:
            if not all(table_exists(connection, settings.ANALYTICS_SCHEMA, view) for view in (RUNS_VIEW, MODELS_VIEW)):
                return ShownEntities()
            names = engine.names(connection)
            runs = connection.execute(
                f"select probe_run_id, benchmark_type_id from {names.analytics(RUNS_VIEW)}"
            ).fetchall()
            models = connection.execute(f"select model_id from {names.analytics(MODELS_VIEW)}").fetchall()
    except WarehouseError:  # nothing published yet
        return ShownEntities()
    by_type: dict[int, set[int]] = defaultdict(set)
    for run_id, type_id in runs:
        by_type[int(type_id)].add(int(run_id))
    return ShownEntities({type_id: frozenset(ids) for type_id, ids in by_type.items()},
                         frozenset(int(model_id) for (model_id,) in models))
