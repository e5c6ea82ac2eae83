"""The raw tables' contract, declared once: columns, types, keys, write disposition and the API field each column
comes from. The dlt hints, the Arrow schemas and the DDL are all derived from these declarations (declaration.py).

No dlt here: the change check (pipelines/load/change_check.py) and the mapping use these declarations too.
"""

from __future__ import annotations

from pipelines.tables.declaration import APPEND, MERGE, Column, ColumnType, Table


def _column(name: str, type_: ColumnType, *, api: str | None = None, nullable: bool = True) -> Column:
    return Column(name, type_, nullable, api)


BIGINT, TEXT, DOUBLE, TIMESTAMP, JSON = (ColumnType.BIGINT, ColumnType.TEXT, ColumnType.DOUBLE,
                                         ColumnType.TIMESTAMP, ColumnType.JSON)
LAST_SEEN_AT = _column("last_seen_at", TIMESTAMP)
# Set by the loader on an engine that cannot store U+0000 in text (PostgreSQL): how many were replaced by U+FFFD in
# which columns of the row, e.g. "2 in content"; NULL otherwise (pipelines/api/nul_text.py).
NUL_REPLACED_COLUMN = "nul_replaced"
NUL_REPLACED = _column(NUL_REPLACED_COLUMN, TEXT)

BENCHMARK_TYPES = Table(
    "benchmark_types",
    (
        _column("id", BIGINT, api="id", nullable=False),
        _column("name", TEXT, api="name"),
        _column("description", TEXT, api="description"),
        LAST_SEEN_AT,
        NUL_REPLACED,
    ),
    MERGE,
    ("id",),
)
# What the model list and the model details share.
_MODEL_COLUMNS = (
    _column("name", TEXT, api="name"),
    _column("provider", TEXT, api="provider"),
    _column("benchmark_date", TIMESTAMP, api="benchmarkDate"),
    _column("url", TEXT, api="url"),
)
# The counts a model's details and a probe run both carry (errors are total - passed - failed).
_COUNT_COLUMNS = (
    _column("total_count", BIGINT, api="totalCount"),
    _column("passed_count", BIGINT, api="passedCount"),
    _column("failed_count", BIGINT, api="failedCount"),
)
MODELS = Table(
    "models", (_column("id", BIGINT, api="id", nullable=False), *_MODEL_COLUMNS, LAST_SEEN_AT, NUL_REPLACED), MERGE,
    ("id",),
)
MODEL_DETAILS = Table(
    "model_details",
    (
        _column("model_id", BIGINT, api="id", nullable=False),
        _column("scope_type_id", BIGINT, nullable=False),  # settings.ALL_TYPES_SCOPE for the overall figures
        *_MODEL_COLUMNS,
        _column("description", TEXT, api="description"),
        *_COUNT_COLUMNS,
        _column("config", JSON, api="config"),
        _column("metadata", JSON, api="metadata"),
        LAST_SEEN_AT,
        NUL_REPLACED,
    ),
    MERGE,
    ("model_id", "scope_type_id"),
)
MODEL_SCORES = Table(
    "model_scores",
    (
        _column("model_id", BIGINT, nullable=False),
        _column("scope_type_id", BIGINT, nullable=False),
        _column("category", TEXT, nullable=False),
        _column("score", DOUBLE),
        _column("rank", DOUBLE),
        LAST_SEEN_AT,
        NUL_REPLACED,
    ),
    MERGE,
    ("model_id", "scope_type_id", "category"),
)
# Which (model, type) run lists a load read, and when: runs not seen since are flagged removed.
RUN_SCOPES = Table(
    "run_scopes",
    (
        _column("model_id", BIGINT, nullable=False),
        _column("benchmark_type_id", BIGINT, nullable=False),
        _column("last_read_at", TIMESTAMP),
    ),
    MERGE,
    ("model_id", "benchmark_type_id"),
)
PROBE_RUNS = Table(
    "probe_runs",
    (
        _column("id", BIGINT, api="id", nullable=False),
        _column("model_id", BIGINT, nullable=False),
        _column("benchmark_type_id", BIGINT, nullable=False),
        _column("probe_id", BIGINT, api="probeId"),
        _column("probe_name", TEXT, api="probeName"),
        _column("probe_category_id", BIGINT, api="probeCategoryId"),
        _column("probe_category_name", TEXT, api="probeCategoryName"),
        _column("created_at", TIMESTAMP, api="createdAt"),
        *_COUNT_COLUMNS,
        _column("score", DOUBLE, api="score"),
        _column("signature", TEXT, nullable=False),  # what the run's test cases were fetched for (mapping.py)
        LAST_SEEN_AT,
        NUL_REPLACED,
    ),
    MERGE,
    ("id",),
)
# Appended straight into place (a merge would copy every message twice and sort them); a re-fetched run's older
# rows are pruned afterwards (pipelines/warehouse/repair.py).
TEST_CASES = Table(
    "test_cases",
    (
        _column("id", BIGINT, api="id", nullable=False),
        _column("probe_run_id", BIGINT, nullable=False),
        _column("model_id", BIGINT),
        _column("benchmark_type_id", BIGINT),
        _column("result", TEXT, api="result", nullable=False),
        _column("attack", TEXT, api="attack"),
        _column("strategy", TEXT, api="strategy"),
        _column("red_teamer", TEXT, api="redTeamer"),
        _column("variation", TEXT, api="variation"),
        _column("detection_time", TIMESTAMP, api="detectionTime"),
        _column("explanation", TEXT, api="explanation"),
        _column("run_signature", TEXT),
        NUL_REPLACED,
    ),
    APPEND,
)
TEST_CASE_MESSAGES = Table(
    "test_case_messages",
    (
        _column("test_case_id", BIGINT, nullable=False),
        _column("probe_run_id", BIGINT, nullable=False),
        _column("position", BIGINT, nullable=False),
        _column("role", TEXT, api="role"),
        _column("content", TEXT, api="content"),
        NUL_REPLACED,
    ),
    APPEND,
)

# One claim per run a load fetched, in the same load as its rows: how many test cases and messages the source produced
# for it. dlt writes every table in a job of its own (committed on its own); the commit step
# (pipelines/warehouse/commit.py) counts a run as loaded only once the rows of its claim are all there.
RUN_LOADS = Table(
    "run_loads",
    (
        _column("probe_run_id", BIGINT, nullable=False),
        _column("run_signature", TEXT),
        _column("test_cases", BIGINT, nullable=False),
        _column("messages", BIGINT, nullable=False),
    ),
    APPEND,
)
# Ours, not dlt's: written by the commit step only, in one transaction. One row per run whose rows are complete: the
# load they came with and the signature they were fetched for. What the next load fetches is decided by it alone.
LOADED_RUNS = Table(
    "loaded_runs",
    (
        _column("probe_run_id", BIGINT, nullable=False),
        _column("load_id", TEXT, nullable=False),
        _column("run_signature", TEXT),
    ),
    "ours",
    ("probe_run_id",),
)

# Appended to a claim's run_signature (and so to loaded_runs') when the run's messages were dropped
# (`sources.benchmarks.conversations = false`; pipelines/api/mapping.py, `held_signature`). The test cases keep the
# run's own signature, which the views compare with the run's current one.
WITHOUT_CONVERSATIONS = "|without conversations"

RAW_TABLES = (BENCHMARK_TYPES, MODELS, MODEL_DETAILS, MODEL_SCORES, RUN_SCOPES, PROBE_RUNS, TEST_CASES,
              TEST_CASE_MESSAGES, RUN_LOADS)
# The bulk tables are appended to, so a re-fetched run keeps its old rows until they are pruned, and a load killed
# between a copy and dlt recording it can copy the same file twice; these keys say what must be unique.
NATURAL_KEYS = {TEST_CASES.name: ("id",), TEST_CASE_MESSAGES.name: ("test_case_id", "position")}
# The tables whose rows belong to one (run, load): the commit step keeps only those of each run's recorded load.
RUN_ROW_TABLES = (TEST_CASES, TEST_CASE_MESSAGES)
# What a re-copied file doubles, within one load: these keys are unique per load.
RECOPY_KEYS = {RUN_LOADS.name: ("probe_run_id",), **NATURAL_KEYS}
