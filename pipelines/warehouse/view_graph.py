"""Which views read which, found by parsing their SQL with sqlglot: the order in which to create the views of sql/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from pipelines.errors import WarehouseError

DIALECT = "duckdb"
REPO_DIR = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class ViewFile:
    """One view: `schema.name`, created from the `select` in `path`."""

    schema: str
    name: str
    path: Path


def cte_names(sql: str) -> set[str]:
    """Names of the query's own CTEs, at any nesting level (lower case, as DuckDB compares them)."""
    return {cte.alias_or_name.lower() for cte in _parse(sql).find_all(exp.CTE)}


def references(sql: str) -> set[tuple[str, str]]:
    """(schema, table) of every table or view the `select` reads, its own CTEs aside.

    A reference without a schema is refused: DuckDB 1.1 binds it to `main`, not to the view's schema, and a CTE of
    the same name would hide it; both make the view mean something else in another reader.
    """
    statement = _parse(sql)
    own_ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    found = set()
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function or table macro, such as range(3) or read_csv('x.csv')
        name, schema = table.name.lower(), table.db.lower()
        if schema:
            found.add((schema, name))
        elif name not in own_ctes:
            raise WarehouseError(
                f"the table {name} must be schema-qualified (<schema>.{name}): DuckDB 1.1 looks for a bare name in "
                "main, not in the view's schema."
            )
    return found


def in_dependency_order(views: list[ViewFile]) -> list[ViewFile]:
    """The views, each after the views it reads, otherwise in the given order; `create view` then never fails.

    References to tables that are not among `views` (the raw tables in `benchmarks_raw`) are no dependency.
    """
    reads = _views_read_by_each(views)
    ordered: list[ViewFile] = []
    done: set[ViewFile] = set()

    def visit(view: ViewFile, reading: tuple[ViewFile, ...]) -> None:
        if view in done:
            return
        if view in reading:
            cycle = " -> ".join(f"{other.schema}.{other.name}" for other in (*reading[reading.index(view):], view))
            raise WarehouseError(f"{display_path(view.path)}: views read each other in a cycle: {cycle}.")
        for dependency in reads[view]:
            visit(dependency, (*reading, view))
        done.add(view)
        ordered.append(view)

    for view in views:
        visit(view, ())
    return ordered


def _views_read_by_each(views: list[ViewFile]) -> dict[ViewFile, list[ViewFile]]:
    """view -> the views among `views` that it reads, in the order of `views` (so the result is deterministic)."""
    by_name: dict[tuple[str, str], ViewFile] = {}
    for view in views:
        earlier = by_name.setdefault((view.schema, view.name), view)
        if earlier is not view:
            raise WarehouseError(
                f"{display_path(earlier.path)} and {display_path(view.path)} both define the view "
                f"{view.schema}.{view.name}."
            )
    reads = {}
    for view in views:
        try:
            names = references(view.path.read_text(encoding="utf-8"))
        except WarehouseError as exc:
            raise WarehouseError(f"{display_path(view.path)}: {exc}") from None
        reads[view] = [other for other in views if (other.schema, other.name) in names]
    return reads


def display_path(path: Path) -> str:
    """The file as the user knows it: relative to the repository (`sql/marts/x.sql`) when it is in there."""
    try:
        return str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        return str(path)


def _parse(sql: str) -> exp.Expression:
    """The one statement of a view file; a file with none or several, or one sqlglot cannot read, is refused."""
    try:
        statements = [statement for statement in sqlglot.parse(sql, read=DIALECT) if statement is not None]
    except SqlglotError as exc:
        raise WarehouseError(f"cannot parse the SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise WarehouseError(f"expected one select statement, found {len(statements)}.")
    return statements[0]
