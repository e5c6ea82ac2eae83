# Every target builds .venv itself on a fresh machine that has only Python 3.11 and pip.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs bench bench-medium bench-full bench-postgres bench-spark clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,spark,spark-bi]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/benchmarks-etl demo

test: $(STAMP) lint
	$(BIN)/pytest -q -n auto --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql/staging sql/intermediate sql/marts

# Regenerate the pages generated from the code (every command's --help; the views from sql/schema.yml).
# tests/test_docs.py fails when they are out of date.
docs: $(STAMP)
	$(BIN)/cog -r docs/commands.md docs/views.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.duckdb

bench: $(STAMP)
	$(BIN)/python perf/bench.py --preset quick

bench-medium: $(STAMP)
	$(BIN)/python perf/bench.py --preset medium

bench-full: $(STAMP)
	$(BIN)/python perf/bench.py --preset full

# PostgreSQL (a throwaway local server): full and no-change loads against DuckDB's at the medium scale, then every
# view at medium and large, into perf/RESULTS-postgres.md. 15 minutes or more on 2 cores: the first two steps took
# 6 and 1 minutes on a loaded machine, and the large load alone 7 minutes; a view past --timeout is cancelled.
# Spark (a throwaway local cluster): full, no-change and change loads against DuckDB's and PostgreSQL's at the medium
# scale into perf/RESULTS-spark.md; perf/spark_view_timings.py times every view on a cluster.
bench-spark: $(STAMP)
	$(BIN)/python perf/bench.py --preset spark

bench-postgres: $(STAMP)
	$(BIN)/python perf/bench.py --preset postgres
	$(BIN)/python perf/view_timings.py --destination postgres --scale medium --repeat 5 --append perf/RESULTS-postgres.md
	$(BIN)/python perf/view_timings.py --destination postgres --scale large --repeat 3 --append perf/RESULTS-postgres.md
