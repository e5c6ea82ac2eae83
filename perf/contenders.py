"""What each contender of the perf harness runs: the command, its settings, and where its warehouse is.

Ours loads into DuckDB, PostgreSQL or Spark: a full load into a new warehouse, a no-change load into the same one
(nothing changed upstream), and a change load into it (the simulator's next epoch: some runs re-run, some removed,
some new). The peer is dlt's rest_api configured the obvious way; the floor only fetches and decodes."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DUCKDB = ("ours", "ours-no-change", "ours-change")
POSTGRES = ("ours-postgres", "ours-postgres-no-change", "ours-postgres-change")
SPARK = ("ours-spark", "ours-spark-no-change", "ours-spark-change")
NO_CHANGE = ("ours-no-change", "ours-postgres-no-change", "ours-spark-no-change")
CHANGE = ("ours-change", "ours-postgres-change", "ours-spark-change")
FULL = ("ours", "ours-postgres", "ours-spark")


@dataclass
class Run:
    command: list[str]
    env: dict[str, str]
    engine: str | None = None  # duckdb, postgres or spark for ours; None for the peer and the floor
    published: Path | None = None  # the DuckDB file


def engine_of(contender: str) -> str | None:
    if contender in POSTGRES:
        return "postgres"
    if contender in SPARK:
        return "spark"
    return "duckdb" if contender in DUCKDB or contender == "ours-2.0-storage" else None


def prepare(contender: str, url: str, workdir: Path, env: dict[str, str], servers: Any) -> Run:
    """The run of `contender`; a full load starts from a new warehouse (file, database or lake)."""
    python = sys.executable
    # Our loads print their stage lines on stderr (not --quiet; stderr is a file, so one line per stage)
    load = [python, "-m", "pipelines", "load", "--base-url", url]
    engine = engine_of(contender)
    if engine == "duckdb":
        folder = workdir / ("ours-2.0" if contender == "ours-2.0-storage" else "ours")
        if contender in FULL or contender == "ours-2.0-storage":
            shutil.rmtree(folder, ignore_errors=True)
        if contender == "ours-2.0-storage":  # what the load wrote before it chose DuckDB 1.1's storage format
            env = {**env, "WAREHOUSE__DUCKDB_STORAGE_VERSION": "latest"}
        return Run([*load, "--db", str(folder / "w.duckdb")], env, engine, folder / "w.duckdb")
    if engine == "postgres":
        if contender in FULL:
            if servers.postgres.database_url:
                servers.postgres.drop(servers.postgres.database_url)
            servers.postgres.database_url = servers.postgres.fresh_database()
        env = {**env, "DESTINATION__POSTGRES__CREDENTIALS": servers.postgres.database_url,
               "XDG_STATE_HOME": str(workdir / "state")}
        return Run([*load, "--destination", "postgres"], env, engine)
    if engine == "spark":
        settings = (servers.spark.fresh_lake(workdir / "lake") if contender in FULL else servers.spark.settings())
        env = {**env, **settings, "XDG_STATE_HOME": str(workdir / "state")}
        return Run([*load, "--destination", "spark"], env, engine)
    if contender == "peer":
        shutil.rmtree(workdir / "peer", ignore_errors=True)
        (workdir / "peer").mkdir(parents=True)
        return Run([python, str(HERE / "peer_rest_api.py"), url, str(workdir / "peer" / "p.duckdb"),
                    "--pipelines-dir", str(workdir / "peer" / "dlt")], env)
    return Run([python, str(HERE / "floor.py"), url, "--workers", "8"], env)


def server_of(run: Run, servers: Any) -> Any:
    """The server whose CPU a run's load also spends (PostgreSQL's, the Spark cluster's), or None."""
    return {"postgres": servers.postgres, "spark": servers.spark}.get(run.engine or "")


def stored_mb(run: Run, servers: Any) -> float | None:
    """What the warehouse holds on disk after the run: the DuckDB file, the database, the lake."""
    if run.engine == "postgres":
        return servers.postgres.database_mb(servers.postgres.database_url)
    if run.engine == "spark":
        return servers.spark.lake_mb()
    if run.published is not None and run.published.exists():
        return run.published.stat().st_size / 2**20
    return None
