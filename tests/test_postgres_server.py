"""The throwaway PostgreSQL the PostgreSQL tests run against (simulator/throwaway_postgres.py): real, local,
password-protected."""

from __future__ import annotations

import psycopg2
import pytest


def test_a_throwaway_postgres_answers_on_loopback_with_its_password(postgres):
    connection = psycopg2.connect(postgres.url())
    try:
        with connection.cursor() as cursor:
            cursor.execute("select version(), inet_server_addr()::text, current_setting('port')::int")
            version, address, port = cursor.fetchone()
    finally:
        connection.close()
    assert version.startswith("PostgreSQL 15") and address == "127.0.0.1/32" and port == postgres.port
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(postgres.url().replace(postgres.password, "wrong"))
