"""The throwaway PostgreSQL server the perf harness loads into: ThrowawayPostgres of simulator/throwaway_postgres.py
(initdb + pg_ctl on a free loopback port, fsync off), started once per harness run, a fresh database per full load.

Also what the server itself costs: it runs on the same cores as the load, so the CPU of the postmaster and its
backends is measured apart (from /proc, through psutil), as the simulator's is.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import psutil

from simulator.throwaway_postgres import ThrowawayPostgres


class BenchPostgres:
    """A ThrowawayPostgres started on first use and stopped by `stop()` (or the `with` block)."""

    def __init__(self) -> None:
        self.server: ThrowawayPostgres | None = None
        self.database_url: str | None = None  # the database of the latest full load, which the no-change load reuses

    def __enter__(self) -> BenchPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def started(self) -> ThrowawayPostgres:
        if self.server is None:
            self.server = ThrowawayPostgres(Path(tempfile.mkdtemp(prefix="bench-postgres-"))).start()
        return self.server

    def fresh_database(self) -> str:
        """A new empty database; returns its credentials URL (for DESTINATION__POSTGRES__CREDENTIALS)."""
        server = self.started()
        return server.url(server.create_database())

    def drop(self, url: str) -> None:
        if self.server is not None:
            self.server.drop_database(url.rsplit("/", 1)[1])

    def database_mb(self, url: str) -> float:
        with self.started().connect(url.rsplit("/", 1)[1]) as connection:
            cursor = connection.cursor()
            cursor.execute("select pg_database_size(current_database())")
            return cursor.fetchone()[0] / 2**20

    def cpu_seconds(self) -> float:
        """User + system CPU of the whole server so far: the postmaster, the backends it has reaped (its children
        times) and the processes alive now (backends, checkpointer, WAL writer, autovacuum). Differences of two
        readings are what the server spent in between, including backends that came and went."""
        if self.server is None:
            return 0.0
        postmaster = psutil.Process(int((self.server.data_dir / "postmaster.pid").read_text().split()[0]))
        times = postmaster.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in postmaster.children():
            try:
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
            except psutil.Error:  # exited between the listing and the reading: its time is in children_* next time
                pass
        return total

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
