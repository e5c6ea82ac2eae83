"""The recipe of docs/postgres.md for a read-only dashboard role, as the PostgreSQL tests apply it to a throwaway server
(simulator/throwaway_postgres.py)."""

from __future__ import annotations

BI_PASSWORD = "bi-password-for-tests"


def grant_readme_recipe(database) -> None:
    """The statements of docs/postgres.md, "Giving dashboards read-only access" (the loader here is the superuser)."""
    with database.connect() as connection:
        cursor = connection.cursor()
        cursor.execute("select 1 from pg_roles where rolname = 'bi'")
        if not cursor.fetchone():
            cursor.execute(f"create role bi login password '{BI_PASSWORD}'")
        cursor.execute(f'grant connect on database "{database.name}" to bi')
        cursor.execute("grant usage on schema analytics to bi")
        cursor.execute("grant select on all tables in schema analytics to bi")
        cursor.execute("alter default privileges for role postgres in schema analytics grant select on tables to bi")
        cursor.execute("grant usage on schema benchmarks_state to bi")
        cursor.execute("grant select on all tables in schema benchmarks_state to bi")
