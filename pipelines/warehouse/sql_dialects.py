"""The sqlglot dialects the views are written for: sqlglot's own, with what it writes inexactly for an engine mended.

sqlglot turns DuckDB's `to_timestamp(seconds)` into Spark's `from_unixtime`, which formats the seconds as text and
drops their fraction (`load_history.started_at` lost its microseconds); Spark's `timestamp_seconds` keeps it."""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.dialects.spark import Spark


class ExactSpark(Spark):
    """Spark SQL as sqlglot writes it, with seconds since the epoch made a timestamp without losing the fraction."""

    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            exp.UnixToTime: lambda generator, expression: (
                generator.func("TIMESTAMP_SECONDS", expression.this)
                if expression.args.get("scale") is None
                else Spark.Generator.TRANSFORMS[exp.UnixToTime](generator, expression)
            ),
        }


WRITERS: dict[str, Any] = {"spark": ExactSpark}


def writer(dialect: str) -> Any:
    """What sqlglot writes views with for `dialect` (an engine's `dialect` name)."""
    return WRITERS.get(dialect, dialect)
