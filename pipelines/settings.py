"""Constants and defaults for the Benchmarks source and the warehouse: the one place to look them up.

The source's settings default to these; .dlt/config.toml, the environment or the command line override them."""

from enum import StrEnum

API_PREFIX = "/api/v2/benchmarks"
EU_BASE_URL = "https://api.probe.splx.ai"  # the US server is https://us.api.probe.splx.ai
DEFAULT_BASE_URL = EU_BASE_URL

SOURCE_NAME = "benchmarks"
API_KEY_SETTING = "SOURCES__BENCHMARKS__API_KEY"
BASE_URL_SETTING = "SOURCES__BENCHMARKS__BASE_URL"

# HTTP behaviour
DEFAULT_WORKERS = 8
MAX_WORKERS = 64
DEFAULT_REQUEST_TIMEOUT_S = 60.0
DEFAULT_MAX_ATTEMPTS = 6  # first try + 5 retries
DEFAULT_BACKOFF_FACTOR_S = 0.5  # 0.5, 1, 2, 4, ... seconds between attempts
DEFAULT_BACKOFF_MAX_S = 20.0  # also the cap applied to a Retry-After header
RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRY_AFTER_STATUSES = (429, 503)  # whose Retry-After header is honoured (capped at backoff_max)
MAX_REDIRECTS = 5  # same-origin redirects followed per request; one to another origin is refused
# Every body is streamed and counted, decompressed bytes included; past this cap the load stops (exit 5).
DEFAULT_MAX_BODY_MIB = 256.0
MAX_BODY_SETTING = "sources.benchmarks.max_body_mib"
BODY_CHUNK_BYTES = 256 * 1024  # one read of a streamed body (decompressed output is bounded to this per read)
ERROR_BODY_MAX_BYTES = 64 * 1024  # of an error answer, this much is read for its message; the rest is dropped
ERROR_MESSAGE_MAX_CHARS = 120  # of an error envelope's message or a body excerpt, in our one-line errors
USER_AGENT = "benchmarks-warehouse/0.1"

# Warehouse layout. Schemas are named so that they do not clash with likely database file names: DuckDB names
# the catalog after the file's stem, and a catalog and a schema of the same name make references ambiguous.
DEFAULT_DB_FILE = "benchmarks.duckdb"
RAW_SCHEMA = "benchmarks_raw"
STAGING_SCHEMA = "benchmarks_stg"
ANALYTICS_SCHEMA = "analytics"
RESERVED_DB_STEMS = (RAW_SCHEMA, STAGING_SCHEMA, f"{RAW_SCHEMA}_staging", "main", "temp", "system")

# Test cases and their messages travel as Arrow tables of about this many test cases each: memory is bounded by
# this batch, not by the size of the data.
TEST_CASE_BATCH_SIZE = 5_000

# A scope id of 0 stands for "aggregated across all benchmark types" in raw key columns (keys cannot be NULL);
# staging turns it back into NULL.
ALL_TYPES_SCOPE = 0

# The storage format of the DuckDB files a load creates: readable by DuckDB 1.1 and every later version, which is
# what BI tools embed (DuckDB 2.0's own format is not readable by any 1.x). A file keeps the format it was created
# with; a load converts one in another format (warehouse.duckdb_storage_version, WAREHOUSE__DUCKDB_STORAGE_VERSION).
DEFAULT_DUCKDB_STORAGE_VERSION = "v1.1.0"

# DuckDB settings while loading: memory is bounded (DuckDB spills to disk beyond it) instead of 80% of the machine.
# Physical row order is never relied on (a conversation's order is its `position` column); not preserving it makes
# the bulk insert much faster (large scale: 24 s -> 14 s, perf/BOUNDS.md). Writing DuckDB 1.1's storage format needs
# more of DuckDB's memory than 2.0's: inserting the messages ran out of it at 128 MB (medium scale) and 192 MB
# (large scale, also with one thread at 128 MB); 256 MB loads the large scale (perf/RESULTS.md).
DUCKDB_LOAD_CONFIG = {"memory_limit": "256MB", "threads": 2, "preserve_insertion_order": False}

# dlt's records of completed loads kept in the working folder (the data files themselves are deleted once loaded).
LOADED_PACKAGES_KEPT = 5


class QueryFormat(StrEnum):
    """Output formats of `query` (the CLI's --format choices)."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class ExportFormat(StrEnum):
    """File formats of `export` (the CLI's --format choices)."""

    PARQUET = "parquet"
    CSV = "csv"
