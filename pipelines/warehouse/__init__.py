"""The warehouse a load writes and readers query: raw tables (schema benchmarks_raw, written by dlt), staging views
(benchmarks_stg) and the public views (analytics).

engine.py is the interface to what differs between database engines, duckdb/ and postgres/ its implementations;
raw_tables.py, repair.py and views.py work on any engine through it. paths.py: where a warehouse's files live.
"""
