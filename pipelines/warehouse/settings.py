"""Constants of the warehouse: its schemas, the DuckDB file's defaults and DuckDB's settings per connection.

The engines' settings (`DuckDbSettings`, pipelines/warehouse/duckdb/configuration.py) default to these.
"""

# Warehouse layout. Schemas are named so that they do not clash with likely database file names: DuckDB names
# the catalog after the file's stem, and a catalog and a schema of the same name make references ambiguous.
DEFAULT_DB_FILE = "benchmarks.duckdb"
RAW_SCHEMA = "benchmarks_raw"
STAGING_SCHEMA = "benchmarks_stg"
ANALYTICS_SCHEMA = "analytics"
# In a file named analytics.duckdb, `analytics.models` is ambiguous between the catalog and the schema.
RESERVED_DB_STEMS = (RAW_SCHEMA, STAGING_SCHEMA, ANALYTICS_SCHEMA, f"{RAW_SCHEMA}_staging", "main", "temp", "system")

# dlt's records of completed loads kept in the working folder (the data files themselves are deleted once loaded).
LOADED_PACKAGES_KEPT = 5

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

# DuckDB settings of every read-only connection (query, report, export, status): nothing outside the warehouse can be
# read or written (no COPY ... TO, EXPORT DATABASE, ATTACH, read_csv('/any/file'), extension downloads), and the
# user's SQL cannot `SET` them back. DuckDB's spill files go to a private temporary folder (duckdb/file.py connect),
# never to `<file>.duckdb.tmp/` beside the warehouse.
DUCKDB_READ_CONFIG = {**DUCKDB_NO_EXTENSION_LOADING, "enable_external_access": False, "lock_configuration": True}

# A Spark load's lease on the lake (pipelines/warehouse/spark/lease.py): renewed every third of it; a load killed on
# any host blocks the next one for at most this long. destination.spark.lease_seconds, DESTINATION__SPARK__LEASE_SECONDS
DEFAULT_SPARK_LEASE_SECONDS = 120.0
# Spark: a load compacts the lake once readers' rows are spread over more loads' files than this (docs/spark.md)
DEFAULT_SPARK_COMPACT_AFTER_LOADS = 8
