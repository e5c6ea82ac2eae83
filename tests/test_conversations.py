"""`sources.benchmarks.conversations = false`: a warehouse without the test cases' messages (attack prompts and model
answers). No message is stored, `test_case_messages` is there and empty, and every other relation holds what a load
with conversations holds; switching the setting on a warehouse fetches its runs again, so that their messages vanish
or come back (the claim's signature says which way a run was fetched: pipelines/api/mapping.py, `held_signature`)."""

from __future__ import annotations

from pipelines.readers.verify import verify_warehouse
from simulator.world import World
from tests.loads import load
from tests.snapshots import RelationRows, assert_same_relations, snapshot
from tests.warehouse_checks import requested_test_case_paths

MESSAGES = "test_case_messages"
SETTING = "SOURCES__BENCHMARKS__CONVERSATIONS"


def runs_with_test_cases() -> int:
    return sum(1 for _, _, run in World(scale="tiny").iter_runs() if run["totalCount"] != 0)


def assert_holds_no_conversation(got: dict[str, RelationRows], expected: dict[str, RelationRows], what: str) -> None:
    """No message, in analytics or in the raw table; every other relation (raw test cases included) as expected."""
    assert expected[MESSAGES].rows and expected[f"raw {MESSAGES}"].rows, "the reference load has conversations"
    assert got[MESSAGES].columns == expected[MESSAGES].columns, what
    assert got[MESSAGES].rows == [] and got[f"raw {MESSAGES}"].rows == [], what
    others = [name for name in expected if name not in (MESSAGES, f"raw {MESSAGES}")]
    assert_same_relations({name: expected[name] for name in others}, {name: got[name] for name in others},
                          what=what)


def texts_left_in_files(warehouse, expected: dict[str, RelationRows]) -> list[str]:  # noqa: ANN001
    """The messages of `expected` whose text (its first 32 bytes) is in the bytes of the DuckDB file or its working
    copy: deleted rows stay in a file's blocks unless it is rewritten (DuckDbFile.compact)."""
    if warehouse.engine_name != "duckdb":
        return []  # PostgreSQL: roles decide who reads what; deleted rows are not readable through SQL
    files = [warehouse.db.read_bytes(), warehouse.engine().working_db.read_bytes()]
    texts = {row["content"].encode()[:32] for row in expected[f"raw {MESSAGES}"].dicts() if len(row["content"]) >= 32}
    assert len(texts) > 10, "too few texts to prove anything"
    return [text.decode(errors="replace") for text in texts if any(text in data for data in files)]


def test_a_load_without_conversations_stores_no_message_and_the_same_figures(warehouse, warehouses, prebuilt,
                                                                           simulator):
    result = load(warehouse, simulator.url, source_options={"conversations": False})

    assert result.messages == 0 and result.test_cases > 0
    assert_holds_no_conversation(snapshot(warehouse, raw=True), prebuilt.expected(warehouses),
                                 "a first load without conversations")
    assert verify_warehouse(warehouse.engine()) == []


def test_switching_conversations_fetches_every_run_again(loaded_warehouse, warehouses, prebuilt, simulator,
                                                         monkeypatch):
    """Off on a warehouse that has messages removes them; on again brings them back: the warehouse then equals a
    load that always had them. Each switch fetches every run once; a load after it, with nothing changed, none."""
    expected = prebuilt.expected(warehouses)  # what loaded_warehouse holds: a clean load with conversations
    monkeypatch.setenv(SETTING, "false")
    off = load(loaded_warehouse, simulator.url)
    assert not off.unchanged and off.runs_fetched == runs_with_test_cases() and off.messages == 0
    assert_holds_no_conversation(snapshot(loaded_warehouse, raw=True), expected, "after switching off")
    assert texts_left_in_files(loaded_warehouse, expected) == []
    assert verify_warehouse(loaded_warehouse.engine()) == []

    simulator.clear_requests()
    assert load(loaded_warehouse, simulator.url).unchanged, "the setting as the last load had it: nothing to do"
    assert requested_test_case_paths(simulator.requests) == []

    monkeypatch.setenv(SETTING, "true")
    on = load(loaded_warehouse, simulator.url)
    assert on.runs_fetched == runs_with_test_cases() and on.messages == len(expected[f"raw {MESSAGES}"].rows)
    assert_same_relations(expected, snapshot(loaded_warehouse, raw=True), what="after switching on again")
    assert verify_warehouse(loaded_warehouse.engine()) == []
