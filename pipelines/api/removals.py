"""The mass-removal guard (rsync's --max-delete): an upstream glitch must not blank every dashboard.

A load flags as removed every run its types' run lists no longer list and every model GET /models no longer lists
(sql/staging/stg_probe_runs.sql, stg_models.sql). Before any row reaches dlt, what the lists returned is compared
with what `analytics` shows now; more than `max_removal_fraction` of the runs (of the benchmark types this load
reads) or of the models flagged at once is refused, unless `load --allow-mass-removal` says the removals are real.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipelines.api import settings
from pipelines.api.client import describe_endpoint
from pipelines.errors import ConfigError, MassRemovalError


@dataclass(frozen=True)
class ShownEntities:
    """What `analytics` shows before a load: the ids of its runs per benchmark type, and of its models."""

    runs_by_type: Mapping[int, frozenset[int]] = field(default_factory=dict)
    models: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RemovalGuard:
    shown: ShownEntities
    max_fraction: float

    def __post_init__(self) -> None:
        check_fraction(self.max_fraction)

    def check(self, type_ids: Iterable[int], listed_runs: set[int], listed_models: set[int]) -> None:
        """Raise MassRemovalError when the lists would flag too much as removed; nothing is written then."""
        runs_shown = frozenset().union(*(self.shown.runs_by_type.get(type_id, frozenset()) for type_id in type_ids))
        self._refuse_beyond("runs", runs_shown, listed_runs, describe_endpoint("/models/{modelId}/runs"))
        self._refuse_beyond("models", self.shown.models, listed_models, describe_endpoint("/models"))

    def _refuse_beyond(self, what: str, shown: frozenset[int], listed: set[int], endpoint: str) -> None:
        removed = len(shown - listed)
        if not shown or removed / len(shown) <= self.max_fraction:
            return
        raise MassRemovalError(
            f"{endpoint} would flag {removed:,} of the {len(shown):,} {what} analytics shows as removed "
            f"({removed / len(shown):.0%}, more than {settings.MAX_REMOVAL_FRACTION_SETTING} = {self.max_fraction:g} "
            "allows); nothing was written. If the API really removed them, load once with --allow-mass-removal."
        )


def check_fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise ConfigError(f"Setting {settings.MAX_REMOVAL_FRACTION_SETTING} = {value!r} must be between 0 and 1.")
    return value
