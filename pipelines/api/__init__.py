"""The Benchmarks API side: HTTP client (client), list reads (lists), record mapping, the Arrow fast path for
test cases, the source's settings (configuration, constants in settings) and the dlt source itself (source).
Only `source` and `configuration` import dlt."""
