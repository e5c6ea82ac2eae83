"""`verify`: check the published warehouse against its own invariants and name what is wrong, one line each.

The invariants are the commit step's (pipelines/warehouse/commit.py): every run recorded in loaded_runs holds exactly
the test cases and messages its load's claim counted, all carrying the recorded signature; no row is outside a
recorded (run, load); no key is stored twice; every run the API lists (with test cases) is recorded with its current
signature. A warehouse made by an older version (no loaded_runs) is checked the way the next load will: each run's
newest rows must be as many as its signature's total count, with messages of the same load.

When anything is wrong the change-check record is forgotten, so the next load is a full one (never "Nothing
changed upstream"), and that load fetches exactly the runs named here again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.load import change_check
from pipelines.readers.published import open_read_only
from pipelines.tables import (
    LOADED_RUNS,
    NATURAL_KEYS,
    RUN_LOADS,
    TEST_CASE_MESSAGES,
    TEST_CASES,
    WITHOUT_CONVERSATIONS,
)
from pipelines.tables.declaration import LOAD_ID_COLUMN
from pipelines.warehouse import settings
from pipelines.warehouse.commit import rows_per_run_load
from pipelines.warehouse.destinations import Warehouse, as_engine
from pipelines.warehouse.engine import Names, quote
from pipelines.warehouse.introspect import table_exists
from pipelines.warehouse.repair import not_recorded

MAX_LINES = 50  # problems named one by one; beyond that, how many more
LOAD = LOAD_ID_COLUMN


def verify_warehouse(warehouse: Warehouse) -> list[str]:
    """One line per problem found (at most MAX_LINES, then a count of the rest); empty when the warehouse is whole."""
    engine = as_engine(warehouse)
    with open_read_only(engine) as (connection, names):
        if not table_exists(connection, settings.RAW_SCHEMA, TEST_CASES.name):
            return []  # nothing loaded yet
        checks = LEGACY_CHECKS if not table_exists(connection, settings.RAW_SCHEMA, LOADED_RUNS.name) else CHECKS
        problems = [line for check in checks for line in check(connection, names)]
    if problems:
        change_check.forget(engine)  # the next load must look, not take the "nothing changed" short way
    if len(problems) > MAX_LINES:
        problems = [*problems[:MAX_LINES], f"... and {len(problems) - MAX_LINES:,} more problems"]
    return problems


def recorded_runs_match_their_claims(connection: Any, names: Names) -> list[str]:
    loaded, claims = names.raw(LOADED_RUNS.name), names.raw(RUN_LOADS.name)
    rows = connection.execute(
        f"with cases as (select probe_run_id, {LOAD} as load_id, count(*) as held, count(distinct run_signature) "
        f"as signatures, max(run_signature) as signature from {names.raw(TEST_CASES.name)} group by probe_run_id, "
        f"{LOAD}), messages as ({rows_per_run_load(names.raw(TEST_CASE_MESSAGES.name))}) "
        "select r.probe_run_id, r.load_id, c.test_cases, c.messages, c.run_signature, r.run_signature, "
        "coalesce(cases.held, 0), coalesce(messages.row_count, 0), coalesce(cases.signatures, 0), cases.signature "
        f"from {loaded} as r left join {claims} as c on c.probe_run_id = r.probe_run_id and c.{LOAD} = r.load_id "
        "left join cases on cases.probe_run_id = r.probe_run_id and cases.load_id = r.load_id "
        "left join messages on messages.probe_run_id = r.probe_run_id and messages.load_id = r.load_id "
        "order by r.probe_run_id"
    ).fetchall()
    return [problem for row in rows for problem in _claim_problems(*row)]


def _claim_problems(run: int, load: str, cases: int | None, messages: int | None, claimed: str | None,
                    recorded: str | None, cases_held: int, messages_held: int, signatures: int,
                    held_signature: str | None) -> list[str]:
    if cases is None:
        return [f"run {run}: recorded as loaded by load {load}, whose claim of its rows is missing"]
    problems = []
    if cases_held != cases:
        problems.append(f"run {run}: {cases_held:,} test cases stored, its load {load} brought {cases:,}")
    if messages_held != messages:
        problems.append(f"run {run}: {messages_held:,} messages stored, its load {load} brought {messages:,}")
    fetched_for = recorded.removesuffix(WITHOUT_CONVERSATIONS) if recorded else recorded  # the test cases' own
    if claimed != recorded or signatures > 1 or (signatures and held_signature != fetched_for):
        problems.append(f"run {run}: test cases stored for another signature than the recorded {recorded!r}")
    return problems


def no_rows_outside_loaded_runs(connection: Any, names: Names) -> list[str]:
    problems = []
    for table in (TEST_CASES, TEST_CASE_MESSAGES):
        count, example = connection.execute(
            f"select count(*), min(t.probe_run_id) from {names.raw(table.name)} as t where {not_recorded('t', names)}"
        ).fetchone()
        if count:
            problems.append(f"{settings.RAW_SCHEMA}.{table.name}: {count:,} rows of runs not recorded as loaded "
                            f"(e.g. run {example})")
    return problems


def no_duplicate_keys(connection: Any, names: Names) -> list[str]:
    problems = []
    for table, key in NATURAL_KEYS.items():
        columns = ", ".join(quote(column) for column in key)
        count, example = connection.execute(
            f"select count(*), min(probe_run_id) from (select {columns}, min(probe_run_id) as probe_run_id "
            f"from {names.raw(table)} group by {columns} having count(*) > 1) as doubled"
        ).fetchone()
        if count:
            problems.append(f"{settings.RAW_SCHEMA}.{table}: {count:,} keys ({', '.join(key)}) stored more than once "
                            f"(e.g. in run {example})")
    return problems


def listed_runs_are_loaded(connection: Any, names: Names) -> list[str]:
    """Every run the API lists now with test cases holds them for its current signature (with or without their
    conversations: `sources.benchmarks.conversations`, which a reader does not know)."""
    if not table_exists(connection, settings.STAGING_SCHEMA, "int_runs"):
        return []
    listed = names.table(settings.STAGING_SCHEMA, "int_runs")
    rows = connection.execute(
        f"select runs.probe_run_id, runs.signature, r.run_signature from {listed} as runs left join "
        f"{names.raw(LOADED_RUNS.name)} as r on r.probe_run_id = runs.probe_run_id "
        "where coalesce(runs.total_count, -1) <> 0 and (r.probe_run_id is null or r.run_signature not in "
        "(runs.signature, runs.signature || ?)) order by runs.probe_run_id", [WITHOUT_CONVERSATIONS],
    ).fetchall()
    return [
        f"run {run}: listed with signature {current!r} but " +
        ("its test cases were never loaded" if held is None else f"its test cases were loaded for {held!r}")
        for run, current, held in rows
    ]


def legacy_runs_are_consistent(connection: Any, names: Names) -> list[str]:
    """A warehouse without loaded_runs: each run's newest test cases, counted against its signature's total."""
    cases, messages = names.raw(TEST_CASES.name), names.raw(TEST_CASE_MESSAGES.name)
    rows = connection.execute(
        f"with newest as (select probe_run_id, max({LOAD}) as load_id from {cases} group by probe_run_id), "
        f"held as (select t.probe_run_id, t.{LOAD} as load_id, max(t.run_signature) as signature, count(*) as cases "
        f"from {cases} as t inner join newest on newest.probe_run_id = t.probe_run_id and newest.load_id = t.{LOAD} "
        f"group by t.probe_run_id, t.{LOAD}), conversations as ({rows_per_run_load(messages)}) "
        "select held.probe_run_id, held.signature, held.cases, coalesce(conversations.row_count, 0) from held "
        "left join conversations on conversations.probe_run_id = held.probe_run_id and conversations.load_id = "
        "held.load_id where conversations.row_count is null or split_part(held.signature, '|', 1) <> "
        "cast(held.cases as varchar) order by held.probe_run_id"
    ).fetchall()
    return [
        f"run {run}: {count:,} test cases and {messages:,} messages stored for signature {signature!r}"
        for run, signature, count, messages in rows
    ]


Check = Callable[[Any, Names], list[str]]
CHECKS: tuple[Check, ...] = (recorded_runs_match_their_claims, no_rows_outside_loaded_runs, no_duplicate_keys,
                             listed_runs_are_loaded)
LEGACY_CHECKS: tuple[Check, ...] = (legacy_runs_are_consistent, no_duplicate_keys)
