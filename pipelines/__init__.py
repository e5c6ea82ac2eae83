"""benchmarks-warehouse: load the Benchmarks API into DuckDB with dlt and keep pass-rate views over it."""
