"""benchmarks-warehouse: load the Benchmarks API into DuckDB with dlt and keep pass-rate views over it."""

import os

# Arrow's C++ code (the Parquet writer dlt uses, among others) allocates from Arrow's default pool, mimalloc, which
# keeps what it freed: writing a 216 MB message left 800 MB held for the rest of the load. The system allocator
# gives it back. Read once, when Arrow first allocates, so it is set before anything imports pyarrow.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
