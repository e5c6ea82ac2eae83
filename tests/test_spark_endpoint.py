"""A Spark endpoint that cannot be reached fails every command at once with one line (exit 6), instead of waiting
out Spark Connect's retries (about ten minutes); the URL's token is never shown. No cluster: nothing listens."""

from __future__ import annotations

import time

import pytest

from pipelines.errors import ExitCode
from simulator.throwaway_postgres import free_port
from tests.commands import SECRET, assert_one_line_error, run_cli
from tests.warehouses import SPARK_CONNECT_URL, SPARK_LAKE_URL

TOKEN = "s3cr3t-token"


@pytest.mark.parametrize("command", [
    ("status",), ("query", "select 1"), ("export", "--out", "exported"), ("report",), ("check",), ("load",),
])
def test_an_unreachable_endpoint_is_one_line_at_once(start_simulator, tmp_path, command):
    if command == ("load",):  # the API answers; the endpoint is met after the extract
        command = ("load", "--base-url", start_simulator(scale="tiny", api_key=SECRET).url)
    port = free_port()  # nothing listens there
    env = {SPARK_LAKE_URL: str(tmp_path / "lake"), SPARK_CONNECT_URL: f"sc://127.0.0.1:{port}/;token={TOKEN}",
           "XDG_STATE_HOME": str(tmp_path / "state")}
    started = time.monotonic()
    result = run_cli(*command, "--destination", "spark", cwd=tmp_path, env=env, timeout=60)
    assert_one_line_error(result, ExitCode.WAREHOUSE, f"Cannot reach the Spark Connect server at 127.0.0.1:{port}")
    assert time.monotonic() - started < 30
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("url", ["http://127.0.0.1:15002", "sc://", "sc://host:notaport"])
def test_a_connect_url_that_is_not_sc_host_port_is_one_line(tmp_path, url):
    env = {SPARK_LAKE_URL: str(tmp_path / "lake"), SPARK_CONNECT_URL: url}
    result = run_cli("status", "--destination", "spark", cwd=tmp_path, env=env, timeout=60)
    assert_one_line_error(result, ExitCode.WAREHOUSE, "Spark Connect URL")
