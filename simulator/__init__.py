"""A local, deterministic stand-in for the Benchmarks API, used by the demo, the tests and the benchmarks."""
