"""The throwaway Spark cluster the perf harness loads into: ThrowawaySpark of simulator/throwaway_spark.py (a
standalone master, two workers and the Connect server, on loopback), started once per harness run, a fresh lake and
an emptied catalog for every full load (what a first load on a new cluster meets).

The cluster runs on the same cores as the load, so its CPU (every JVM: daemons, driver, executors) is measured apart,
as PostgreSQL's and the simulator's are."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import suppress
from pathlib import Path

import psutil

from pipelines.warehouse.spark.relations import SCHEMAS
from simulator.throwaway_spark import ThrowawaySpark

LAKE_URL, CONNECT_URL = "DESTINATION__SPARK__LAKE_URL", "DESTINATION__SPARK__CONNECT_URL"


class BenchSpark:
    """A ThrowawaySpark started on first use and stopped by `stop()` (or the `with` block)."""

    def __init__(self) -> None:
        self.cluster: ThrowawaySpark | None = None
        self.lake: Path | None = None  # the lake of the latest full load, which the later loads reuse

    def __enter__(self) -> BenchSpark:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def started(self) -> ThrowawaySpark:
        if self.cluster is None:
            self.cluster = ThrowawaySpark(Path(tempfile.mkdtemp(prefix="bench-spark-"))).start()
        return self.cluster

    def fresh_lake(self, folder: Path) -> dict[str, str]:
        """An empty lake at `folder` and a catalog without the product's schemas; the settings naming them."""
        cluster = self.started()
        from pyspark.sql import SparkSession

        session = SparkSession.builder.remote(cluster.connect_url).create()
        try:
            for schema in SCHEMAS:
                session.sql(f"drop database if exists {schema} cascade")
        finally:
            session.stop()
        shutil.rmtree(folder, ignore_errors=True)
        self.lake = folder
        return self.settings()

    def settings(self) -> dict[str, str]:
        assert self.cluster is not None and self.lake is not None, "fresh_lake() first"
        return {LAKE_URL: str(self.lake), CONNECT_URL: self.cluster.connect_url}

    def lake_mb(self) -> float:
        if self.lake is None or not self.lake.exists():
            return 0.0
        return sum(path.stat().st_size for path in self.lake.rglob("*") if path.is_file()) / 2**20

    def cpu_seconds(self) -> float:
        """User + system CPU of every process of the cluster alive now (each JVM and its launcher)."""
        if self.cluster is None:
            return 0.0
        total = 0.0
        for process in self.cluster.processes:
            with suppress(psutil.Error):
                parent = psutil.Process(process.pid)
                for member in [parent, *parent.children(recursive=True)]:
                    with suppress(psutil.Error):
                        times = member.cpu_times()
                        total += times.user + times.system
        return total

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
