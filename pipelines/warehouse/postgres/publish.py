"""The publish step on PostgreSQL: one transaction refills every analytics table from its view, after checking that
this load still holds its lock; only tables this project created are ever dropped or re-created.

Ours are listed in benchmarks_state.analytics_tables, written in the same transaction that creates them. A
warehouse published by a version without that list adopts, once, the tables named after our views that carry the
comment every publish writes on them (sql/schema.yml documents every mart). Any other table in `analytics` is left
alone; one that has the name of one of our views blocks the publish, named in the error.
"""

from __future__ import annotations

from pipelines.errors import WarehouseError
from pipelines.warehouse import settings
from pipelines.warehouse.engine import Names
from pipelines.warehouse.postgres import lock as pg_lock
from pipelines.warehouse.postgres.connection import PgConnection
from pipelines.warehouse.postgres.state import STATE_SCHEMA

# While publish runs the views. Hash joins only: the planner misjudges the views' filters (the latest run per probe)
# as one row and then joins all test cases by nested loop once per run: 55 s instead of about 1 s at the medium
# scale (perf/RESULTS-postgres.md). Only for that transaction; readers read the tables it fills.
PUBLISH_SETTINGS = {"enable_nestloop": "off"}
REGISTRY = f"{STATE_SCHEMA}.analytics_tables"


def publish_views(connection: PgConnection, marts: list[str], mart_schema: str) -> None:
    """Refill analytics from the views of `mart_schema`, all in one transaction (the caller maps errors)."""
    from pipelines.warehouse.views import comment_statements

    names = Names()
    connection.execute("begin transaction")
    try:
        pg_lock.check_active_fence(connection.raw.cursor())
        for setting, value in PUBLISH_SETTINGS.items():
            connection.execute(f"set local {setting} = {value}")
        connection.execute(f"create schema if not exists {names.schema(settings.ANALYTICS_SCHEMA)}")
        ours = _our_tables(connection, marts)
        blocking = sorted(set(marts) & (set(_analytics_tables(connection)) - ours))
        if blocking:
            raise WarehouseError(_blocked_message(blocking))
        for view in marts:
            _refill(connection, names, mart_schema, view)
            connection.execute(f"insert into {REGISTRY} (name) values (?) on conflict (name) do nothing", [view])
        for table in sorted(ours - set(marts)):  # ours, for a view that no longer exists
            connection.execute(f"drop table if exists {names.analytics(table)}")
            connection.execute(f"delete from {REGISTRY} where name = ?", [table])
        for statement in comment_statements(names, dict.fromkeys(marts, settings.ANALYTICS_SCHEMA), "table"):
            connection.execute(statement)
        connection.execute("commit")
    except BaseException:
        connection.rollback_quietly()
        raise


def _refill(connection: PgConnection, names: Names, mart_schema: str, view: str) -> None:
    source, target = names.table(mart_schema, view), names.analytics(view)
    if columns(connection, settings.ANALYTICS_SCHEMA, view) == columns(connection, mart_schema, view):
        connection.execute(f"delete from {target}")
    else:  # new, or its view's columns changed with the code: readers wait for this transaction instead
        connection.execute(f"drop table if exists {target}")
        connection.execute(f"create table {target} as select * from {source} with no data")
    connection.execute(f"insert into {target} select * from {source}")
    connection.execute(f"analyze {target}")


def _our_tables(connection: PgConnection, marts: list[str]) -> set[str]:
    """The registered tables; on the first publish of this version, the adopted ones (see the module's doc)."""
    registered = {name for (name,) in connection.execute(f"select name from {REGISTRY}").fetchall()}
    if registered:
        return registered
    commented = connection.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? "
        "and c.relkind in ('r', 'p') and obj_description(c.oid, 'pg_class') is not null",
        [settings.ANALYTICS_SCHEMA],
    ).fetchall()
    return {name for (name,) in commented} & set(marts)


def _analytics_tables(connection: PgConnection) -> list[str]:
    """Every relation in analytics, whoever owns it and whatever the loader may see of it (pg_class, not
    information_schema, which hides what the loader has no privilege on)."""
    rows = connection.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? "
        "and c.relkind in ('r', 'p', 'v', 'm', 'f')",
        [settings.ANALYTICS_SCHEMA],
    ).fetchall()
    return [name for (name,) in rows]


def _blocked_message(blocking: list[str]) -> str:
    tables = ", ".join(f"analytics.{name}" for name in blocking)
    return (f"{tables} {'was' if len(blocking) == 1 else 'were'} not created by this project but "
            f"{'has' if len(blocking) == 1 else 'have'} the name of one of its views; the load leaves "
            f"{'it' if len(blocking) == 1 else 'them'} alone and did not publish. Rename or move "
            f"{'it' if len(blocking) == 1 else 'them'} out of analytics.")


def columns(connection: PgConnection, schema: str, relation: str) -> list[tuple[str, str]]:
    return connection.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a join pg_class c "
        "on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = ? "
        "and a.attnum > 0 and not a.attisdropped order by a.attnum",
        [schema, relation],
    ).fetchall()
