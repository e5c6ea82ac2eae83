"""Constants of the Benchmarks source: the API's address, HTTP behaviour, and the defaults of its settings.

The settings themselves (`SourceSettings`, pipelines/api/configuration.py) default to these; .dlt/config.toml, the
environment or the command line override them.
"""

API_PREFIX = "/api/v2/benchmarks"
EU_BASE_URL = "https://api.probe.splx.ai"  # the US server is https://us.api.probe.splx.ai
DEFAULT_BASE_URL = EU_BASE_URL

SOURCE_NAME = "benchmarks"  # the dlt source, its configuration section (sources.benchmarks) and its dlt schema
API_KEY_SETTING = "SOURCES__BENCHMARKS__API_KEY"
API_KEY_FILE_SETTING = "SOURCES__BENCHMARKS__API_KEY_FILE"
BASE_URL_SETTING = "SOURCES__BENCHMARKS__BASE_URL"

# HTTP behaviour
DEFAULT_WORKERS = 8
MAX_WORKERS = 64
DEFAULT_REQUEST_TIMEOUT_S = 60.0
DEFAULT_MAX_ATTEMPTS = 6  # first try + 5 retries
BACKOFF_FACTOR_S = 0.5  # 0.5, 1, 2, 4, ... seconds between attempts
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

# Test cases and their messages travel as Arrow tables of about this many test cases each: memory is bounded by
# this batch, not by the size of the data.
TEST_CASE_BATCH_SIZE = 5_000
# A test-cases body at least this large is flattened on its own as soon as it is parsed, so that its bytes are freed
# then rather than with its batch (cases_to_arrow.py); smaller ones are flattened together, which is cheaper.
FLATTEN_ALONE_BYTES = 8 * 2**20

# A scope id of 0 stands for "aggregated across all benchmark types" in raw key columns (keys cannot be NULL);
# staging turns it back into NULL.
ALL_TYPES_SCOPE = 0
