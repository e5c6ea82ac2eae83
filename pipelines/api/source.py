"""The dlt source "benchmarks": benchmark types, models, model details, probe runs and test cases."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from pipelines import tables
from pipelines.api import mapping
from pipelines.api.cases_to_arrow import CaseBatch, ReadRun, read_test_cases
from pipelines.api.client import ApiClient, Prefetched, describe_endpoint
from pipelines.api.configuration import SourceSettings
from pipelines.api.lists import ExtractLists, scope_params
from pipelines.api.nul_text import replace_nul_in_row, replace_nul_in_table
from pipelines.api.removals import RemovalGuard, ShownEntities
from pipelines.api.settings import ALL_TYPES_SCOPE, SOURCE_NAME, TEST_CASE_BATCH_SIZE
from pipelines.api.stats import SourceStats

PagesOfRows = Iterator[list[dict[str, Any]]]  # what a list resource yields: pages of rows, one dict per row


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=1, spec=SourceSettings)
def benchmarks(
    settings: SourceSettings = dlt.config.value,
    *,
    known_run_signatures: Mapping[int, str] | None = None,
    prefetched: Prefetched | None = None,
    shown: ShownEntities | None = None,
    stores_nul_characters: bool = True,
    stats: SourceStats | None = None,
) -> Sequence[DltResource]:
    """Loads the Benchmarks API: types, models (overall and per type), details, probe runs and test cases.

    Lists are re-read on every load; test cases are fetched only for runs that are new or whose counts or score
    changed since the test cases the warehouse holds (`known_run_signatures`).

    Args:
        settings: The source's settings (pipelines/api/configuration.py); dlt resolves them under
            [sources.benchmarks] when they are not given.
        known_run_signatures: Run id -> the signature of the test cases the warehouse holds for it; None: none held,
            every run's test cases are fetched.
        prefetched: List bodies already read by this load's change check, used instead of reading them again.
        shown: What `analytics` shows before the load: the mass-removal guard's baseline (removals.py); None: no
            guard (a first load, or `load --allow-mass-removal`).
        stores_nul_characters: False for an engine whose text cannot hold U+0000 (PostgreSQL): the source replaces
            it (nul_text.py).
        stats: Filled with what the extract did (requests, list digests, runs, progress, largest rows).

    Returns:
        The resources benchmark_types, models, model_details, model_scores, run_scopes, probe_runs and test_cases
        (which also yields test_case_messages and run_loads).
    """
    stats = stats if stats is not None else SourceStats()
    guard = None if shown is None else RemovalGuard(shown, settings.max_removal_fraction)
    lists = ExtractLists(settings, stats, prefetched, guard)
    scopes = run_scopes(lists)
    runs = scopes | probe_runs(lists)
    list_resources = (benchmark_types(lists), models(lists), model_details(lists), model_scores(lists), runs)
    if not stores_nul_characters:  # the test cases' batches are handled in test_cases (_tables_of)
        for resource in list_resources:
            resource.add_map(replace_nul_in_row)
    fetch = test_cases(settings, stats, known_run_signatures or {}, stores_nul_characters)
    return (*list_resources[:4], scopes, runs, runs | with_messages_table(fetch))


@dlt.resource(**tables.BENCHMARK_TYPES.dlt_hints())
def benchmark_types(lists: ExtractLists) -> PagesOfRows:
    yield lists.checked().types()


@dlt.resource(**tables.MODELS.dlt_hints())
def models(lists: ExtractLists) -> PagesOfRows:
    read, endpoint = lists.checked(), describe_endpoint("/models")
    yield [mapping.model_row(record, endpoint, read.seen_at) for record in read.models()[ALL_TYPES_SCOPE]]


@dlt.resource(**tables.MODEL_DETAILS.dlt_hints())
def model_details(lists: ExtractLists) -> PagesOfRows:
    read = lists.checked()
    yield [
        mapping.detail_row(body, scope, _details_endpoint(body, scope), read.seen_at) for scope, body in read.details()
    ]


@dlt.resource(**tables.MODEL_SCORES.dlt_hints())
def model_scores(lists: ExtractLists) -> PagesOfRows:
    read, rows = lists.checked(), []
    for scope, body in read.details():
        rows.extend(mapping.score_rows(body, scope, _details_endpoint(body, scope), read.seen_at))
    yield rows


@dlt.resource(**tables.RUN_SCOPES.dlt_hints())
def run_scopes(lists: ExtractLists) -> PagesOfRows:
    read = lists.checked()
    yield [
        {"model_id": model_id, "benchmark_type_id": type_id, "last_read_at": read.seen_at}
        for model_id, type_id in read.run_scopes()
    ]


@dlt.transformer(**tables.PROBE_RUNS.dlt_hints())
def probe_runs(scopes: list[dict[str, Any]], lists: ExtractLists) -> PagesOfRows:
    """All runs of every (model, type) scope (read by `ApiLists.checked`), passed on as one page."""
    pages = lists.checked().run_pages()
    yield [row for scope in scopes for row in pages[scope["model_id"], scope["benchmark_type_id"]]]


@dlt.transformer(**tables.TEST_CASES.dlt_hints())
def test_cases(
    runs: list[dict[str, Any]], source_settings: SourceSettings, stats: SourceStats,
    known_run_signatures: Mapping[int, str], stores_nul_characters: bool,
) -> Iterator[pa.Table]:
    """Test cases of new or changed runs, in Arrow batches; their messages go to test_case_messages.

    Fetched over a client of their own, opened here and closed when this generator ends: when it is done, fails, or
    is closed by dlt because the extract failed elsewhere."""
    stats.runs_listed += len(runs)
    conversations = source_settings.conversations
    changed = [run for run in runs if run.get("total_count") != 0
               and known_run_signatures.get(run["id"]) != mapping.held_signature(run["signature"], conversations)]
    stats.progress.set_total("runs", len(changed))
    stats.progress.set_total("test cases", sum(max(run.get("total_count") or 0, 0) for run in changed))
    if not changed:
        return
    with ApiClient(source_settings, counter=stats.requests) as client:

        def fetch(run: dict[str, Any]) -> ReadRun | None:
            """In the HTTP worker threads: fetch a run's test cases and parse them with Arrow (GIL released)."""
            body = client.get_body(f"/models/{run['model_id']}/runs/{run['id']}/test-cases", missing_ok=True)
            return None if body is None else read_test_cases(run, body)

        batch, batch_runs = CaseBatch(), []
        for run, read in client.map_concurrent(fetch, changed):
            stats.progress.advance("runs")
            if read is None:  # removed between listing and fetching; it is flagged removed next load
                stats.runs_vanished += 1
                continue
            stats.runs_fetched += 1
            stats.progress.advance("test cases", batch.add_run(run, read))
            batch_runs.append(run)
            if len(batch) >= TEST_CASE_BATCH_SIZE:
                yield from _tables_of(batch, batch_runs, stats, stores_nul_characters, conversations)
                batch, batch_runs = CaseBatch(), []
        if batch_runs:
            yield from _tables_of(batch, batch_runs, stats, stores_nul_characters, conversations)


def with_messages_table(resource: DltResource) -> DltResource:
    """Declare test_case_messages, the second table test_cases writes (a table variant of the resource).

    Both are appended straight into place (no staging copy, no merge): a re-fetched run's new rows carry a newer
    load id, and pipelines/warehouse/repair.py then deletes its older rows.
    """
    for table in (tables.TEST_CASE_MESSAGES, tables.RUN_LOADS):  # run_loads: each fetched run's claim
        resource.apply_hints(table_name=table.name, columns={}, create_table_variant=True)  # a copy of test_cases'
        resource.apply_hints(**table.dlt_hints(), create_table_variant=True)
    return resource


def _tables_of(
    batch: CaseBatch, runs: list[dict[str, Any]], stats: SourceStats, stores_nul_characters: bool,
    conversations: bool,
) -> Iterator[Any]:
    """The batch's test cases and messages, then one claim per run: the rows it produced, which the commit step
    finds all there before it counts the run as loaded (pipelines/warehouse/commit.py). Without `conversations`
    the messages, mapped like any, are dropped here: none is stored, and each claim counts none."""
    cases, messages = batch.to_tables()
    if not conversations:
        messages = messages.schema.empty_table()
    if not stores_nul_characters:
        cases, messages = replace_nul_in_table(cases), replace_nul_in_table(messages)
    stats.largest_rows.add(cases)
    stats.largest_rows.add(messages)
    if cases.num_rows:
        yield cases
    if messages.num_rows:
        yield dlt.mark.with_table_name(messages, tables.TEST_CASE_MESSAGES.name)
    yield dlt.mark.with_table_name(run_claims(runs, cases, messages, conversations), tables.RUN_LOADS.name)


def run_claims(runs: list[dict[str, Any]], cases: pa.Table, messages: pa.Table, conversations: bool) -> pa.Table:
    """One row per run: its id, the signature it was fetched for (`mapping.held_signature`), and how many test cases
    and messages it has."""
    case_counts = _counts_per_run(cases)
    message_counts = _counts_per_run(messages)
    columns = {
        "probe_run_id": [run["id"] for run in runs],
        "run_signature": [mapping.held_signature(run["signature"], conversations) for run in runs],
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
