"""Constants and defaults for the Benchmarks source and the warehouse: the one place to look them up.

The source's settings default to these; .dlt/config.toml, the environment or the command line override them."""

from enum import StrEnum

API_PREFIX = "/api/v2/benchmarks"
EU_BASE_URL = "https://api.probe.splx.ai"  # the US server is https://us.api.probe.splx.ai
DEFAULT_BASE_URL = EU_BASE_URL

SOURCE_NAME = "benchmarks"
API_KEY_SETTING = "SOURCES__BENCHMARKS__API_KEY"
API_KEY_FILE_SETTING = "SOURCES__BENCHMARKS__API_KEY_FILE"
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

# The mass-removal guard (pipelines/api/removals.py): a load that would flag more than this fraction of the
# runs, or of the models, analytics shows as removed is refused unless `load --allow-mass-removal`.
DEFAULT_MAX_REMOVAL_FRACTION = 0.5
MAX_REMOVAL_FRACTION_SETTING = "sources.benchmarks.max_removal_fraction"

# Ctrl-C / SIGTERM: a load still running this long after the signal (a read, an insert or a thread that cannot be
# interrupted) is ended at once (pipelines/interrupts.py); 5 s is the promise, this leaves room for the exit itself.
INTERRUPT_GRACE_S = 3.0

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
# A test-cases body at least this large is flattened on its own as soon as it is parsed, so that its bytes are freed
# then rather than with its batch (test_cases.py); smaller ones are flattened together, which is cheaper.
FLATTEN_ALONE_BYTES = 8 * 2**20

# A scope id of 0 stands for "aggregated across all benchmark types" in raw key columns (keys cannot be NULL);
# staging turns it back into NULL.
ALL_TYPES_SCOPE = 0

# The storage format of the DuckDB files a load creates: readable by DuckDB 1.1 and every later version, which is
# what BI tools embed (DuckDB 2.0's own format is not readable by any 1.x). A file keeps the format it was created
# with; a load converts one in another format (warehouse.duckdb_storage_version, WAREHOUSE__DUCKDB_STORAGE_VERSION).
DEFAULT_DUCKDB_STORAGE_VERSION = "v1.1.0"

# Every DuckDB connection we open (loader, readers, probes) and dlt's: DuckDB never downloads or loads an extension
# by itself (by default a SQLite file or an https:// path makes it fetch one from the internet).
DUCKDB_NO_EXTENSION_LOADING = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

# DuckDB settings while loading: memory is bounded (DuckDB spills to disk beyond it) instead of 80% of the machine.
# Physical row order is never relied on (a conversation's order is its `position` column); not preserving it makes
# the bulk insert much faster (large scale: 24 s -> 14 s, perf/BOUNDS.md). Writing DuckDB 1.1's storage format needs
# more of DuckDB's memory than 2.0's: inserting the messages ran out of it at 128 MB (medium scale) and 192 MB
# (large scale, also with one thread at 128 MB); 256 MB loads the large scale (perf/RESULTS.md).
DEFAULT_DUCKDB_MEMORY_LIMIT = "256MB"  # warehouse.duckdb_memory_limit, WAREHOUSE__DUCKDB_MEMORY_LIMIT
DUCKDB_LOAD_CONFIG = {"memory_limit": DEFAULT_DUCKDB_MEMORY_LIMIT, "threads": 2, "preserve_insertion_order": False,
                      **DUCKDB_NO_EXTENSION_LOADING}
# DuckDB holds the strings of a whole vector (2,048 rows) at once while it inserts, and needs about three times their
# size: a single 250 MiB message ran out of memory at 512 MB and loaded at 768 MB (perf/BOUNDS.md, "Large bodies").
# A load whose largest rows need more than the configured limit gets this much for its insert.
DUCKDB_VECTOR_ROWS = 2048
DUCKDB_MEMORY_PER_TEXT_BYTE = 3

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

# PostgreSQL: the role `query`, `report`, `export` and `status` connect as, when set (docs/postgres.md,
# "Giving dashboards read-only access"); loads always connect with destination.postgres.credentials.
POSTGRES_READ_CREDENTIALS_SETTING = "DESTINATION__POSTGRES__READ_CREDENTIALS"

# DuckDB settings of every read-only connection (query, report, export, status): nothing outside the warehouse can be
# read or written (no COPY ... TO, EXPORT DATABASE, ATTACH, read_csv('/any/file'), extension downloads), and the
# user's SQL cannot `SET` them back. DuckDB's spill files go to a private temporary folder (duckdb_file.connect),
# never to `<file>.duckdb.tmp/` beside the warehouse.
DUCKDB_READ_CONFIG = {**DUCKDB_NO_EXTENSION_LOADING, "enable_external_access": False, "lock_configuration": True}
