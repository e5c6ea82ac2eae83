"""Each view of sql/ written as one statement: the views it reads, directly or not, become CTEs of it, for Spark.

Why: Spark resolves a view by looking it up in the metastore and analysing its text again wherever it is named, so
an analytics view four layers deep costs thousands of catalog calls to create and to read (docs/spark.md,
performance). Written into one statement, a view names only the raw views. Readers still see one load at a time:
the raw views read the publication view, the one relation a publish re-points, and that is never written in. The
views of every layer are still created (people query `benchmarks_stg` too), each from its own inlined text.

Every CTE is renamed after its view (`source` of stg_models becomes `stg_models__source`, still read as `source`),
and a view read becomes the CTE `<view>__view`: one statement's CTEs share one namespace (sqlglot writes Spark's
CTEs at the top of the statement), and a view read twice is written in once."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from pipelines.warehouse.view_graph import ViewFile

SOURCE_DIALECT = "duckdb"  # what sql/ is written in


def inlined_views(views: list[ViewFile]) -> list[tuple[ViewFile, str]]:
    """(view, its SQL in DuckDB's dialect as one statement over raw tables only); `views` in dependency order
    (view_graph.in_dependency_order), so the views each one reads are flattened when it is reached."""
    flattened: dict[tuple[str, str], tuple[list[exp.CTE], exp.Expression]] = {}
    inlined = []
    for view in views:
        tree = sqlglot.parse_one(view.path.read_text(encoding="utf-8").strip().rstrip(";"), read=SOURCE_DIALECT)
        _name_ctes_after(tree, view.name)
        ctes: dict[str, exp.CTE] = {}
        for table in list(tree.find_all(exp.Table)):
            read = flattened.get((table.db.lower(), table.name.lower()))
            if read is None:
                continue
            read_ctes, read_query = read
            for cte in [*read_ctes, _cte(f"{table.name.lower()}__view", read_query)]:
                ctes.setdefault(cte.alias, cte)
            _read_as(table, f"{table.name.lower()}__view")
        own = tree.args.get("with_")
        tree.set("with_", None)
        for cte in own.expressions if own else []:
            ctes.setdefault(cte.alias, cte)
        flattened[(view.schema.lower(), view.name.lower())] = (list(ctes.values()), tree)
        statement = tree.copy()
        if ctes:
            statement.set("with_", exp.With(expressions=[cte.copy() for cte in ctes.values()]))
        inlined.append((view, statement.sql(SOURCE_DIALECT)))
    return inlined


def _cte(name: str, query: exp.Expression) -> exp.CTE:
    return exp.CTE(this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier(name)))


def _read_as(table: exp.Table, name: str) -> None:
    """`table` read from the CTE `name`, under its old name or alias (so qualified columns keep their meaning)."""
    alias = table.alias_or_name
    table.set("db", None)
    table.set("catalog", None)
    table.set("this", exp.to_identifier(name))
    table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))


def _name_ctes_after(tree: exp.Expression, view: str) -> None:
    """Each CTE of the view renamed `<view>__<cte>`, read under its old name."""
    ctes = {cte.alias_or_name.lower(): cte for cte in tree.find_all(exp.CTE)}
    if len(ctes) != len(list(tree.find_all(exp.CTE))):
        raise ValueError(f"{view}: two CTEs of one name")  # the renaming would be ambiguous; no view of sql/ has them
    for table in list(tree.find_all(exp.Table)):
        if not table.db and table.name.lower() in ctes:
            _read_as(table, f"{view}__{table.name.lower()}")
    for name, cte in ctes.items():
        cte.set("alias", exp.TableAlias(this=exp.to_identifier(f"{view}__{name}")))
