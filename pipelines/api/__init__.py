"""The Benchmarks API side: HTTP client (client), list reads (lists), record mapping, the Arrow fast path for
test cases, and the dlt source itself (source). Nothing here imports dlt except `source`."""
