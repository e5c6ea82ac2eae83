"""The lists a load reads before any test case: benchmark types, models per scope, model details, run lists.

Kept free of dlt, so a load can read the lists and find nothing changed upstream without a dlt pipeline (see
pipelines/load/change_check.py); the dlt resources in `pipelines.api.source` map the same reads into rows.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipelines.api import mapping, settings
from pipelines.api.client import GONE, ApiClient, Prefetched, describe_endpoint
from pipelines.api.removals import RemovalGuard
from pipelines.api.stats import SourceStats
from pipelines.errors import ConfigError
from pipelines.progress import LoadProgress

if TYPE_CHECKING:
    from pipelines.api.configuration import SourceSettings


def scope_params(scope: int) -> dict[str, int] | None:
    """Query parameters of a per-scope request: none for the overall scope, else the benchmark type."""
    return {"benchmarkTypeId": scope} if scope != settings.ALL_TYPES_SCOPE else None


class ApiLists:
    """The lists (types, models per scope, details, run lists) read once per load and shared by the resources.

    Every body is checked as it is read (a list must be a JSON array, ids and counts 64-bit integers, timestamps
    dates), so the change check (change_check.py) refuses a malformed list exactly as the load does. A 404 means the
    entity is gone; a body never does. `checked` reads them all and applies the mass-removal guard, if any, before
    the resources yield their first row.
    """

    def __init__(
        self, client: ApiClient, type_ids: Sequence[int] | None, seen_at: datetime, progress: LoadProgress,
        removal_guard: RemovalGuard | None = None,
    ) -> None:
        self.client = client
        self.progress = progress
        self.requested_type_ids = list(type_ids) if type_ids else None
        self.seen_at = seen_at
        self.removal_guard = removal_guard
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._is_checked = False
        self._types: list[dict[str, Any]] | None = None
        self._models: dict[int, list[dict[str, Any]]] | None = None
        self._details: list[tuple[int, dict[str, Any]]] | None = None
        self._runs: dict[tuple[int, int], list[dict[str, Any]]] | None = None

    def types(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._types is None:
                endpoint = describe_endpoint("/types")
                body = mapping.require_list(self.client.get_json("/types"), endpoint)
                rows = [mapping.type_row(record, endpoint, self.seen_at) for record in body]
                mapping.ensure_unique_ids(rows, endpoint)
                self._types = rows
            return self._types

    def type_ids(self) -> list[int]:
        """The benchmark types this load reads: all of them, or those asked for with --types."""
        available = [row["id"] for row in self.types()]
        if self.requested_type_ids is None:
            return available
        unknown = sorted(set(self.requested_type_ids) - set(available))
        if unknown:
            names = ", ".join(f"{row['id']} ({row.get('name')})" for row in self.types())
            raise ConfigError(f"Unknown benchmark type id(s) {unknown}; the API has: {names}.")
        return list(self.requested_type_ids)

    def models(self) -> dict[int, list[dict[str, Any]]]:
        """Model lists per scope (ALL_TYPES_SCOPE = overall), fetched concurrently, each as returned by the API."""
        type_ids = self.type_ids()
        with self._lock:
            if self._models is None:
                self._models = dict(self.client.map_concurrent(self._list_models, mapping.iter_scopes(type_ids)))
            return self._models

    def _list_models(self, scope: int) -> list[dict[str, Any]]:
        params = scope_params(scope)
        endpoint = describe_endpoint("/models", params)
        body = mapping.require_list(self.client.get_json("/models", params), endpoint)
        records = [mapping.require_object(record, endpoint) for record in body]
        mapping.ensure_unique_ids([mapping.model_row(record, endpoint, self.seen_at) for record in records], endpoint)
        return records

    def details(self) -> list[tuple[int, dict[str, Any]]]:
        """(scope, details body) for every model listed in every scope; models gone meanwhile are skipped."""
        pairs = [(scope, record["id"]) for scope, records in self.models().items() for record in records]
        with self._lock:
            if self._details is None:
                self.progress.set_total("models", len(pairs))
                self._details = []
                for _, body in self.client.map_concurrent(self._model_details, pairs):
                    self.progress.advance("models")
                    if body is not None:
                        self._details.append(body)
            return self._details

    def _model_details(self, pair: tuple[int, int]) -> tuple[int, Any] | None:
        """(scope, body) of one model's details, checked as the resources will map them; None when it is gone."""
        scope, model_id = pair
        params = scope_params(scope)
        body = self.client.get_json(f"/models/{model_id}", params, missing_ok=True)
        if body is GONE:
            return None
        endpoint = describe_endpoint(f"/models/{model_id}", params)
        mapping.detail_row(body, scope, endpoint, self.seen_at)
        mapping.score_rows(body, scope, endpoint, self.seen_at)
        return scope, body

    def run_scopes(self) -> list[tuple[int, int]]:
        """(model_id, benchmark_type_id) pairs whose probe runs are read: each model listed under each type."""
        return [
            (record["id"], scope)
            for scope, records in self.models().items()
            if scope != settings.ALL_TYPES_SCOPE
            for record in records
        ]

    def run_rows(self, model_id: int, type_id: int) -> list[dict[str, Any]]:
        """The probe runs of one (model, type) scope as rows; none when the model vanished since it was listed (404).

        A body that is not a JSON array (`null` included) is malformed: it never means "no runs"."""
        params = {"benchmarkTypeId": type_id}
        endpoint = describe_endpoint(f"/models/{model_id}/runs", params)
        body = self.client.get_json(f"/models/{model_id}/runs", params, missing_ok=True)
        if body is GONE:
            return []
        rows = [
            mapping.run_row(record, model_id, type_id, endpoint, self.seen_at)
            for record in mapping.require_list(body, endpoint)
        ]
        mapping.ensure_unique_ids(rows, endpoint)
        return rows

    def run_pages(self) -> dict[tuple[int, int], list[dict[str, Any]]]:
        """(model_id, type_id) -> its runs as rows, for every run scope, read concurrently once per load."""
        scopes = self.run_scopes()
        with self._lock:
            if self._runs is None:
                pages = dict(self.client.map_concurrent(lambda pair: self.run_rows(*pair), scopes))
                every_run = [row for page in pages.values() for row in page]
                mapping.ensure_unique_ids(every_run, describe_endpoint("/models/{modelId}/runs"))
                self._runs = {scope: pages[scope] for scope in scopes}
            return self._runs

    def checked(self) -> ApiLists:
        """Read and check every list, then refuse a mass removal (removals.py): before any row goes to dlt."""
        with self._check_lock:
            if not self._is_checked:
                self.details()
                pages = self.run_pages()
                if self.removal_guard is not None:
                    listed_runs = {row["id"] for page in pages.values() for row in page}
                    listed_models = {record["id"] for record in self.models()[settings.ALL_TYPES_SCOPE]}
                    self.removal_guard.check(self.type_ids(), listed_runs, listed_models)
                self._is_checked = True
        return self

    def read_all(self) -> int:
        """Make every list request a load makes (types, models, details, run lists), and nothing else; check each
        body as the load does. Returns the number of runs listed."""
        self.details()
        return sum(len(page) for page in self.run_pages().values())


class ExtractLists:
    """The lists of one extract, read and checked (`ApiLists.checked`) once, by whichever resource needs them first.

    They are read over a client opened for those reads and closed right after, whatever happens: the resources then
    map what was read, and the test cases are fetched over a client of their own (pipelines/api/source.py).
    """

    def __init__(self, source_settings: SourceSettings, stats: SourceStats, prefetched: Prefetched | None,
                 removal_guard: RemovalGuard | None) -> None:
        self._settings = source_settings
        self._stats = stats
        self._prefetched = prefetched
        self._removal_guard = removal_guard
        self._lock = threading.Lock()
        self._lists: ApiLists | None = None

    def checked(self) -> ApiLists:
        with self._lock:
            if self._lists is None:
                with ApiClient(self._settings, counter=self._stats.requests, recorder=self._stats.lists,
                               prefetched=self._prefetched) as client:
                    lists = ApiLists(client, self._settings.type_ids, datetime.now(UTC), self._stats.progress,
                                     self._removal_guard)
                    self._lists = lists.checked()
            return self._lists
