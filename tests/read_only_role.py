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


AGGREGATES_ROLE = "bi_aggregates"


def grant_aggregates_recipe(database) -> None:
    """The statements of docs/postgres.md, "A role that does not see the conversations" (the loader here is the
    superuser): every analytics table but test_case_messages, in one transaction, and no default privileges."""
    with database.connect() as connection:
        cursor = connection.cursor()
        cursor.execute("select 1 from pg_roles where rolname = %s", [AGGREGATES_ROLE])
        if not cursor.fetchone():
            cursor.execute(f"create role {AGGREGATES_ROLE} login password '{BI_PASSWORD}'")
        cursor.execute(f'grant connect on database "{database.name}" to {AGGREGATES_ROLE}')
        cursor.execute(f"grant usage on schema analytics to {AGGREGATES_ROLE}")
        cursor.execute("begin")
        cursor.execute(f"grant select on all tables in schema analytics to {AGGREGATES_ROLE}")
        cursor.execute(f"revoke select on analytics.test_case_messages from {AGGREGATES_ROLE}")
        cursor.execute("commit")
        cursor.execute(f"grant usage on schema benchmarks_state to {AGGREGATES_ROLE}")
        cursor.execute(f"grant select on all tables in schema benchmarks_state to {AGGREGATES_ROLE}")
