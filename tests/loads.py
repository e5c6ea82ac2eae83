"""Starting a load, the one way the tests do it: in this process through the product's load API (`load`), or as
`benchmarks-etl load` in a process of its own, as cron runs it (`load_process`). The only test module that calls
`run_load`: when its signature changes, this is the one place to follow it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from simulator.crafted_api import CraftedApi
from tests.commands import STAGE_LINE
from tests.warehouses import Warehouse, as_warehouse

DEMO_KEY = "demo-key"  # the simulator's default key


def load(target: Warehouse | Path | str, base_url: str, **options: Any) -> Any:
    """One load of the API at `base_url` into `target` (a path: that DuckDB file); `options` are the load API's
    (type_ids, full_refresh, source_options, allow_mass_removal, allow_insecure_http, workers). Returns its
    LoadResult; raises what the load raises."""
    from pipelines.load.runner import run_load

    warehouse = as_warehouse(target)
    if warehouse.engine_name != "duckdb":
        with warehouse.selected():
            return run_load(destination=warehouse.engine_name, base_url=base_url, **options)
    return run_load(warehouse.db, base_url=base_url, **options)


def load_routes(target: Warehouse | Path | str, routes: dict[str, Any], **options: Any) -> Any:
    """One load of a crafted API serving `routes` (tests/crafted_api.py)."""
    with CraftedApi(routes) as api:
        return load(target, api.url, **options)


def load_with_key(target: Warehouse | Path | str, base_url: str, **options: Any) -> Any:
    """`load` outside a test's own environment (a module's fixture): the simulator's key given explicitly."""
    source_options = {"api_key": DEMO_KEY, **options.pop("source_options", {})}
    return load(target, base_url, source_options=source_options, **options)


def load_process(
    target: Warehouse | Path | str, base_url: str, *extra: str, env: dict | None = None
) -> subprocess.Popen:
    """`benchmarks-etl load` into `target` as a process of its own (stdout and stderr piped, as text); `extra` are
    further arguments (e.g. "--full-refresh")."""
    warehouse = as_warehouse(target)
    environment = {**os.environ, "SOURCES__BENCHMARKS__API_KEY": DEMO_KEY, **warehouse.env, **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", "load", *warehouse.cli_args, "--base-url", base_url, *extra],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 120) -> str:
    """Wait for a load process that must succeed; returns its stderr."""
    out, errors = process.communicate(timeout=timeout)
    assert process.returncode == 0, errors + out
    return errors


def wait_for_stage(process: subprocess.Popen, stage: str, timeout: float = 60) -> bool:
    """Read the load's stage lines until `stage` begins; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            return False
        match = STAGE_LINE.match(line)
        if match and match.group(0).split()[-1] == stage:
            return True
    return False


def kill_during(process: subprocess.Popen, stage: str, delay: float) -> tuple[str, bool, int]:
    """SIGKILL a load `delay` seconds into `stage`; returns (stage, whether it reached it, its exit code)."""
    reached = wait_for_stage(process, stage)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    process.stdout.close()
    return stage, reached, process.returncode
