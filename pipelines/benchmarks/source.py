"""The dlt source "benchmarks": benchmark types, models, model details, probe runs and test cases."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from pipelines import settings
from pipelines.benchmarks import mapping, test_case_tables
from pipelines.benchmarks.catalog import Catalog, LoadStats, scope_params
from pipelines.benchmarks.helpers import ApiClient, Body, Prefetched, describe_endpoint

MERGE = {"disposition": "merge", "strategy": "delete-insert"}


# Column hints are functions, not shared dicts: dlt writes the column name into the dict it is given.
def TIMESTAMP() -> dict[str, Any]:  # noqa: N802 (reads like a type in the column contracts)
    return {"data_type": "timestamp", "timezone": True}


def TEXT() -> dict[str, Any]:  # noqa: N802
    return {"data_type": "text"}


def BIGINT(nullable: bool = True) -> dict[str, Any]:  # noqa: N802
    return {"data_type": "bigint", "nullable": nullable}


def model_text_columns() -> dict[str, Any]:
    """Nullable API fields get explicit hints so their columns exist even while every value is null."""
    return {"name": TEXT(), "provider": TEXT(), "url": TEXT()}


@dlt.source(name=settings.SOURCE_NAME, section="benchmarks", max_table_nesting=1)
def benchmarks(
    api_key: str = dlt.secrets.value,
    base_url: str = settings.DEFAULT_BASE_URL,
    workers: int = settings.DEFAULT_WORKERS,
    request_timeout: float = settings.DEFAULT_REQUEST_TIMEOUT_S,
    max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
    backoff_max: float = settings.DEFAULT_BACKOFF_MAX_S,
    allow_insecure_http: bool = False,
    type_ids: list[int] | None = None,
    known_run_signatures: Mapping[int, str] | None = None,
    stats: LoadStats | None = None,
    prefetched: Prefetched | None = None,
) -> Sequence[DltResource]:
    """Loads the Benchmarks API: types, models (overall and per type), details, probe runs and test cases.

    Lists are re-read on every load; test cases are fetched only for runs that are new or whose counts or score
    changed (their signature differs from `known_run_signatures`).

    Args:
        api_key: Personal access token sent as X-Api-Key (a dlt secret: sources.benchmarks.api_key).
        base_url: API root, e.g. https://api.probe.splx.ai (EU) or https://us.api.probe.splx.ai (US).
        workers: Concurrent HTTP requests.
        request_timeout: Seconds before one HTTP request times out.
        max_attempts: Attempts per request (429/5xx/connection errors are retried with backoff).
        backoff_max: Longest wait between two attempts, Retry-After included.
        allow_insecure_http: Allow a plain http:// base URL to a host other than loopback (the key goes in clear).
        type_ids: Benchmark types to read runs for; None = all.
        known_run_signatures: probe_run_id -> signature of the test cases already in the warehouse.
        stats: Collects request and row counts for the caller, and the settings as resolved.
        prefetched: List bodies this load already read (while checking whether anything changed), not re-read.

    Returns:
        The resources benchmark_types, models, model_details, model_scores, run_scopes, probe_runs, test_cases
        (which also yields test_case_messages).
    """
    stats = stats or LoadStats()
    known = dict(known_run_signatures or {})
    seen_at = datetime.now(UTC)
    client_options = {
        "api_key": api_key,
        "base_url": base_url,
        "workers": workers,
        "request_timeout": request_timeout,
        "max_attempts": max_attempts,
        "backoff_max": backoff_max,
        "allow_insecure_http": allow_insecure_http,
    }
    stats.resolved_options = {**client_options, "type_ids": list(type_ids) if type_ids else None}
    client = ApiClient(**client_options, counter=stats.requests, recorder=stats.lists, prefetched=prefetched)
    catalog = Catalog(client, type_ids, seen_at, stats.progress)
    progress = stats.progress

    @dlt.resource(
        primary_key="id",
        write_disposition=MERGE,
        columns={
            "id": BIGINT(nullable=False),
            "name": TEXT(),
            "description": TEXT(),
            "last_seen_at": TIMESTAMP(),
        },
    )
    def benchmark_types() -> Iterator[list[dict[str, Any]]]:
        yield catalog.types()

    @dlt.resource(
        primary_key="id",
        write_disposition=MERGE,
        columns={
            "id": BIGINT(nullable=False),
            **model_text_columns(),
            "benchmark_date": TIMESTAMP(),
            "last_seen_at": TIMESTAMP(),
        },
    )
    def models() -> Iterator[list[dict[str, Any]]]:
        endpoint = describe_endpoint("/models")
        yield [mapping.model_row(record, endpoint, seen_at) for record in catalog.models()[settings.ALL_TYPES_SCOPE]]

    @dlt.resource(
        primary_key=("model_id", "scope_type_id"),
        write_disposition=MERGE,
        columns={
            "model_id": BIGINT(nullable=False),
            "scope_type_id": BIGINT(nullable=False),
            **model_text_columns(),
            "description": TEXT(),
            "total_count": BIGINT(),
            "passed_count": BIGINT(),
            "failed_count": BIGINT(),
            "benchmark_date": TIMESTAMP(),
            "config": {"data_type": "json"},
            "metadata": {"data_type": "json"},
            "last_seen_at": TIMESTAMP(),
        },
    )
    def model_details() -> Iterator[list[dict[str, Any]]]:
        yield [
            mapping.detail_row(body, scope, _details_endpoint(body, scope), seen_at)
            for scope, body in catalog.details()
        ]

    @dlt.resource(
        primary_key=("model_id", "scope_type_id", "category"),
        write_disposition=MERGE,
        columns={
            "model_id": BIGINT(nullable=False),
            "scope_type_id": BIGINT(nullable=False),
            "category": {"data_type": "text", "nullable": False},
            "score": {"data_type": "double"},
            "rank": {"data_type": "double"},
            "last_seen_at": TIMESTAMP(),
        },
    )
    def model_scores() -> Iterator[list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        for scope, body in catalog.details():
            rows.extend(mapping.score_rows(body, scope, _details_endpoint(body, scope), seen_at))
        yield rows

    @dlt.resource(
        primary_key=("model_id", "benchmark_type_id"),
        write_disposition=MERGE,
        columns={
            "model_id": BIGINT(nullable=False),
            "benchmark_type_id": BIGINT(nullable=False),
            "last_read_at": TIMESTAMP(),
        },
    )
    def run_scopes() -> Iterator[list[dict[str, Any]]]:
        """Which (model, type) run lists this load read, and when: runs not seen since are flagged removed."""
        yield [
            {"model_id": model_id, "benchmark_type_id": type_id, "last_read_at": seen_at}
            for model_id, type_id in catalog.run_scopes()
        ]

    @dlt.transformer(
        data_from=run_scopes,
        primary_key="id",
        write_disposition=MERGE,
        columns={
            "id": BIGINT(nullable=False),
            "model_id": BIGINT(nullable=False),
            "benchmark_type_id": BIGINT(nullable=False),
            "probe_id": BIGINT(),
            "probe_name": TEXT(),
            "probe_category_id": BIGINT(),
            "probe_category_name": TEXT(),
            "total_count": BIGINT(),
            "passed_count": BIGINT(),
            "failed_count": BIGINT(),
            "score": {"data_type": "double"},
            "created_at": TIMESTAMP(),
            "signature": {"data_type": "text", "nullable": False},
            "last_seen_at": TIMESTAMP(),
        },
    )
    def probe_runs(scopes: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """All runs of every (model, type) scope, read concurrently and passed on as one page."""
        pairs = [(scope["model_id"], scope["benchmark_type_id"]) for scope in scopes]
        rows: list[dict[str, Any]] = []
        for _, page in client.map_concurrent(_list_runs, pairs):
            rows.extend(page)
        mapping.ensure_unique_ids(rows, describe_endpoint("/models/{modelId}/runs"))
        stats.runs_listed += len(rows)
        yield rows

    def _list_runs(pair: tuple[int, int]) -> list[dict[str, Any]]:
        model_id, type_id = pair
        endpoint = describe_endpoint(f"/models/{model_id}/runs", {"benchmarkTypeId": type_id})
        body = catalog.run_list(model_id, type_id)
        if body is None:  # the model vanished between listing and reading its runs
            return []
        rows = [
            mapping.run_row(record, model_id, type_id, endpoint, seen_at)
            for record in mapping.require_list(body, endpoint)
        ]
        mapping.ensure_unique_ids(rows, endpoint)
        return rows

    @dlt.transformer(data_from=probe_runs, write_disposition="append")
    def test_cases(runs: list[dict[str, Any]]) -> Iterator[Any]:
        """Test cases of new or changed runs, in Arrow batches; their messages go to test_case_messages."""
        changed = [
            run
            for run in runs
            if run.get("total_count") != 0 and known.get(run["id"]) != run["signature"]
        ]
        stats.runs_to_fetch += len(changed)
        progress.set_total("runs", len(changed))
        progress.set_total("test cases", sum(max(run.get("total_count") or 0, 0) for run in changed))
        batch = test_case_tables.TestCaseTables()
        for run, (body, parsed) in client.map_concurrent(_fetch_test_cases, changed):
            progress.advance("runs")
            if body is None:  # removed between listing and fetching; it is flagged removed next load
                stats.runs_vanished += 1
                continue
            stats.runs_fetched += 1
            progress.advance("test cases", batch.add_run(run, body, parsed))
            if len(batch) >= settings.TEST_CASE_BATCH_SIZE:
                yield from _emit(batch)
                batch = test_case_tables.TestCaseTables()
        if len(batch):
            yield from _emit(batch)

    def _fetch_test_cases(run: dict[str, Any]) -> tuple[Body | None, pa.Table | None]:
        """Runs in the HTTP worker threads: fetch a run's test cases and parse them with Arrow (GIL released)."""
        body = client.get_body(f"/models/{run['model_id']}/runs/{run['id']}/test-cases", missing_ok=True)
        return body, None if body is None else test_case_tables.parse_body(body)

    def _emit(batch: test_case_tables.TestCaseTables) -> Iterator[Any]:
        cases, messages = batch.to_tables()
        stats.test_cases += cases.num_rows
        stats.messages += messages.num_rows
        yield cases
        if messages.num_rows:
            yield dlt.mark.with_table_name(messages, "test_case_messages")

    # test_cases writes two tables, both appended straight into place (no staging copy, no merge): a re-fetched
    # run's new rows carry a newer load id, and warehouse.prune_superseded_test_cases then deletes its older rows.
    # The messages table is a variant of the resource's hints, declared before the test_cases columns because a
    # variant starts as a copy of the resource's hints.
    test_cases.apply_hints(
        table_name="test_case_messages",
        write_disposition="append",
        columns={
            "test_case_id": BIGINT(nullable=False),
            "probe_run_id": BIGINT(nullable=False),
            "position": BIGINT(nullable=False),
        },
        create_table_variant=True,
    )
    test_cases.apply_hints(
        columns={
            "id": BIGINT(nullable=False),
            "probe_run_id": BIGINT(nullable=False),
            "result": {"data_type": "text", "nullable": False},
            "detection_time": TIMESTAMP(),
        },
    )
    return (benchmark_types, models, model_details, model_scores, run_scopes, probe_runs, test_cases)


def _details_endpoint(body: Any, scope: int) -> str:
    params = scope_params(scope)
    model_id = body.get("id") if isinstance(body, dict) else "{modelId}"
    return describe_endpoint(f"/models/{model_id}", params)
