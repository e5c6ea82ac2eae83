"""The dlt source "benchmarks": benchmark types, models, model details, probe runs and test cases."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.configuration import known_sections, resolve_configuration
from dlt.common.configuration.exceptions import ConfigFieldMissingException, ConfigValueCannotBeCoercedException
from dlt.sources import DltResource

from pipelines import settings, tables
from pipelines.api import mapping
from pipelines.api.cases_to_arrow import ReadRun, TestCaseBatch, read_test_cases
from pipelines.api.client import ApiClient, describe_endpoint
from pipelines.api.lists import ApiLists, scope_params
from pipelines.api.load_context import LoadContext
from pipelines.api.nul_text import replace_nul_in_row, replace_nul_in_table
from pipelines.api.removals import RemovalGuard, check_fraction
from pipelines.errors import ConfigError

Rows = Iterator[list[dict[str, Any]]]


@dlt.source(name=settings.SOURCE_NAME, section=settings.SOURCE_NAME, max_table_nesting=1)
def benchmarks(
    api_key: str | None = dlt.secrets.value,
    api_key_file: str | None = None,
    base_url: str = settings.DEFAULT_BASE_URL,
    workers: int = settings.DEFAULT_WORKERS,
    request_timeout: float = settings.DEFAULT_REQUEST_TIMEOUT_S,
    max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
    backoff_max: float = settings.DEFAULT_BACKOFF_MAX_S,
    allow_insecure_http: bool = False,
    type_ids: list[int] | None = None,
    max_removal_fraction: float = settings.DEFAULT_MAX_REMOVAL_FRACTION,
    max_body_mib: float = settings.DEFAULT_MAX_BODY_MIB,
    ca_bundle: str | None = None,
) -> Sequence[DltResource]:
    """Loads the Benchmarks API: types, models (overall and per type), details, probe runs and test cases.

    Lists are re-read on every load; test cases are fetched only for runs that are new or whose counts or score
    changed since the test cases the warehouse holds (`LoadContext.known_run_signatures`).

    Args:
        api_key: Personal access token sent as X-Api-Key (a dlt secret: sources.benchmarks.api_key). Optional here
            because api_key_file may name it instead: pipelines/api/api_key.py resolves and checks the key before the
            source is called.
        api_key_file: A file holding the key (surrounding whitespace and line ends stripped); not with api_key.
        base_url: API root, e.g. https://api.probe.splx.ai (EU) or https://us.api.probe.splx.ai (US).
        workers: Concurrent HTTP requests.
        request_timeout: Seconds one HTTP request may take in all: connect, headers and the complete body.
        max_attempts: Attempts per request (429/5xx/connection errors are retried with backoff).
        backoff_max: Longest wait between two attempts, Retry-After included.
        allow_insecure_http: Allow a plain http:// base URL to a host other than loopback (the key goes in clear).
        type_ids: Benchmark types to read runs for; None = all.
        max_removal_fraction: Refuse a load whose lists would flag more than this fraction of the runs (of the types
            read) or of the models analytics shows as removed (removals.py); `load --allow-mass-removal` lifts it.
        max_body_mib: Largest body accepted, decompressed, in MiB; a larger one stops the load (exit 5).
        ca_bundle: CA certificates (file or directory) to verify the API's TLS with; None = REQUESTS_CA_BUNDLE or
            the bundled ones. Verification is never turned off.

    Returns:
        The resources benchmark_types, models, model_details, model_scores, run_scopes, probe_runs and test_cases
        (which also yields test_case_messages).
    """
    load = LoadContext.current()
    client = load.close_when_done(
        ApiClient(
            base_url, api_key, workers=workers, request_timeout=request_timeout, max_attempts=max_attempts,
            backoff_max=backoff_max, allow_insecure_http=allow_insecure_http, max_body_mib=max_body_mib,
            ca_bundle=ca_bundle, counter=load.requests,
            recorder=load.lists, prefetched=load.prefetched,
        )
    )
    check_fraction(max_removal_fraction)
    guard = None if load.shown is None or load.allow_mass_removal else RemovalGuard(load.shown, max_removal_fraction)
    api_lists = ApiLists(client, type_ids, datetime.now(UTC), load.progress, guard)
    scopes = run_scopes(api_lists)
    runs = scopes | probe_runs(api_lists)
    lists = (benchmark_types(api_lists), models(api_lists), model_details(api_lists), model_scores(api_lists), runs)
    if not load.stores_nul_characters:  # the test cases' batches are handled in test_cases (_tables_of)
        for resource in lists:
            resource.add_map(replace_nul_in_row)
    return (*lists[:4], scopes, runs, runs | with_messages_table(test_cases(api_lists, load)))


def resolve_settings(**explicit: Any) -> dict[str, Any]:
    """The source's settings as dlt resolves them when the source is called: `explicit` values first, then the
    environment, secrets.toml and config.toml (dlt's providers, in dlt's order), then the defaults above.

    Resolved once per load and passed to the source explicitly, so the change check and the load use the same.
    """
    reference = benchmarks.ref  # type: ignore[attr-defined]
    sections = (known_sections.SOURCES, reference.section, reference.name)
    try:
        resolved = resolve_configuration(reference.SPEC(), sections=sections, explicit_value=explicit)
    except ConfigFieldMissingException as exc:
        raise ConfigError(f"Missing settings {', '.join(exc.fields)} under [sources.benchmarks].") from None
    except ConfigValueCannotBeCoercedException as exc:
        expected = getattr(exc.hint, "__name__", exc.hint)
        raise ConfigError(
            f"Setting sources.benchmarks.{exc.field_name} = {exc.field_value!r} is not a valid {expected}."
        ) from None
    return {name: getattr(resolved, name) for name in reference.SPEC.get_resolvable_fields()}


def source_setting_names() -> list[str]:
    return list(benchmarks.ref.SPEC.get_resolvable_fields())  # type: ignore[attr-defined]


@dlt.resource(**tables.BENCHMARK_TYPES.dlt_hints())
def benchmark_types(lists: ApiLists) -> Rows:
    yield lists.checked().types()


@dlt.resource(**tables.MODELS.dlt_hints())
def models(lists: ApiLists) -> Rows:
    endpoint = describe_endpoint("/models")
    overall = lists.checked().models()[settings.ALL_TYPES_SCOPE]
    yield [mapping.model_row(record, endpoint, lists.seen_at) for record in overall]


@dlt.resource(**tables.MODEL_DETAILS.dlt_hints())
def model_details(lists: ApiLists) -> Rows:
    yield [
        mapping.detail_row(body, scope, _details_endpoint(body, scope), lists.seen_at)
        for scope, body in lists.checked().details()
    ]


@dlt.resource(**tables.MODEL_SCORES.dlt_hints())
def model_scores(lists: ApiLists) -> Rows:
    rows: list[dict[str, Any]] = []
    for scope, body in lists.checked().details():
        rows.extend(mapping.score_rows(body, scope, _details_endpoint(body, scope), lists.seen_at))
    yield rows


@dlt.resource(**tables.RUN_SCOPES.dlt_hints())
def run_scopes(lists: ApiLists) -> Rows:
    yield [
        {"model_id": model_id, "benchmark_type_id": type_id, "last_read_at": lists.seen_at}
        for model_id, type_id in lists.checked().run_scopes()
    ]


@dlt.transformer(**tables.PROBE_RUNS.dlt_hints())
def probe_runs(scopes: list[dict[str, Any]], lists: ApiLists) -> Rows:
    """All runs of every (model, type) scope (read by `ApiLists.checked`), passed on as one page."""
    pages = lists.checked().run_pages()
    yield [row for scope in scopes for row in pages[scope["model_id"], scope["benchmark_type_id"]]]


@dlt.transformer(**tables.TEST_CASES.dlt_hints())
def test_cases(runs: list[dict[str, Any]], lists: ApiLists, load: LoadContext) -> Iterator[pa.Table]:
    """Test cases of new or changed runs, in Arrow batches; their messages go to test_case_messages."""
    known = load.known_run_signatures
    load.runs_listed += len(runs)
    changed = [run for run in runs if run.get("total_count") != 0 and known.get(run["id"]) != run["signature"]]
    load.progress.set_total("runs", len(changed))
    load.progress.set_total("test cases", sum(max(run.get("total_count") or 0, 0) for run in changed))

    def fetch(run: dict[str, Any]) -> ReadRun | None:
        """In the HTTP worker threads: fetch a run's test cases and parse them with Arrow (GIL released)."""
        body = lists.client.get_body(f"/models/{run['model_id']}/runs/{run['id']}/test-cases", missing_ok=True)
        return None if body is None else read_test_cases(run, body)

    batch, batch_runs = TestCaseBatch(), []
    for run, read in lists.client.map_concurrent(fetch, changed):
        load.progress.advance("runs")
        if read is None:  # removed between listing and fetching; it is flagged removed next load
            load.runs_vanished += 1
            continue
        load.runs_fetched += 1
        load.progress.advance("test cases", batch.add_run(run, read))
        batch_runs.append(run)
        if len(batch) >= settings.TEST_CASE_BATCH_SIZE:
            yield from _tables_of(batch, batch_runs, load)
            batch, batch_runs = TestCaseBatch(), []
    if batch_runs:
        yield from _tables_of(batch, batch_runs, load)


def with_messages_table(resource: DltResource) -> DltResource:
    """Declare test_case_messages, the second table test_cases writes (a table variant of the resource).

    Both are appended straight into place (no staging copy, no merge): a re-fetched run's new rows carry a newer
    load id, and pipelines/warehouse/repair.py then deletes its older rows.
    """
    for table in (tables.TEST_CASE_MESSAGES, tables.RUN_LOADS):  # run_loads: each fetched run's claim
        resource.apply_hints(table_name=table.name, columns={}, create_table_variant=True)  # a copy of test_cases'
        resource.apply_hints(**table.dlt_hints(), create_table_variant=True)
    return resource


def _tables_of(batch: TestCaseBatch, runs: list[dict[str, Any]], load: LoadContext) -> Iterator[Any]:
    """The batch's test cases and messages, then one claim per run: the rows it produced, which the commit step
    finds all there before it counts the run as loaded (pipelines/warehouse/commit.py)."""
    cases, messages = batch.to_tables()
    if not load.stores_nul_characters:
        cases, messages = replace_nul_in_table(cases), replace_nul_in_table(messages)
    load.largest_rows.add(cases)
    load.largest_rows.add(messages)
    if cases.num_rows:
        yield cases
    if messages.num_rows:
        yield dlt.mark.with_table_name(messages, tables.TEST_CASE_MESSAGES.name)
    yield dlt.mark.with_table_name(run_claims(runs, cases, messages), tables.RUN_LOADS.name)


def run_claims(runs: list[dict[str, Any]], cases: pa.Table, messages: pa.Table) -> pa.Table:
    """One row per run: its id, the signature it was fetched for, and how many test cases and messages it has."""
    case_counts = _counts_per_run(cases)
    message_counts = _counts_per_run(messages)
    columns = {
        "probe_run_id": [run["id"] for run in runs],
        "run_signature": [run["signature"] for run in runs],
        "test_cases": [case_counts.get(run["id"], 0) for run in runs],
        "messages": [message_counts.get(run["id"], 0) for run in runs],
    }
    return pa.Table.from_pydict(columns, schema=tables.RUN_LOADS.arrow_schema())


def _counts_per_run(table: pa.Table) -> dict[int, int]:
    counted = pc.value_counts(table.column("probe_run_id")) if table.num_rows else []
    return {item["values"].as_py(): item["counts"].as_py() for item in counted}


def _details_endpoint(body: Any, scope: int) -> str:
    model_id = body.get("id") if isinstance(body, dict) else "{modelId}"
    return describe_endpoint(f"/models/{model_id}", scope_params(scope))
