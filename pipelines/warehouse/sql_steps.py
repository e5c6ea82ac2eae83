"""The load's steps on an engine whose SQL has transactions (DuckDB, PostgreSQL): the shared modules do them, in
one transaction each. Spark, whose lake has none, does them its own way (pipelines/warehouse/spark/engine.py)."""

from __future__ import annotations

from pipelines.warehouse import commit, raw_tables, views


class TransactionalSqlSteps:
    """Engine members for the commit point, the runs already held and the views (Engine's docstrings say what)."""

    def commit_loaded_runs(self) -> None:
        """In one transaction: pipelines/warehouse/commit.py."""
        commit.commit_loaded_runs(self)

    def known_run_signatures(self) -> dict[int, str]:
        return raw_tables.known_run_signatures(self)

    def apply_views(self) -> int:
        return views.apply_views(self)
