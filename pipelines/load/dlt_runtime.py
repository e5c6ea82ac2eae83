"""dlt's configuration for one command: read as it is now, with our runtime defaults below whatever the user set.

dlt reads its TOML files when its run context is made, and starts its runtime (log level, telemetry) from them.
`use_dlt_configuration` runs before a command resolves any setting: the run context is reloaded, so that a load
sees the environment, secrets.toml and config.toml as they are now (in the working directory or dlt's global
folder), as a new process would; and our defaults fill only what nobody configured. --verbose sets
RUNTIME__LOG_LEVEL, which beats everything.

dlt logs a failed load job's traceback at ERROR, and again at WARNING for every retry: hundreds of lines for one
DuckDB out-of-memory. So our default log level is CRITICAL (nothing of dlt's): the user gets our one `error:` line,
which names the cause; --verbose, or a log_level the user configured, shows dlt's logs. Telemetry is off unless the
user turns it on: a command-line tool run from cron should not call home.

Only dlt's public API: `dlt.current.run_context()` and `dlt.config.register_provider`, with a
`CustomLoaderDocProvider` as dlt's documentation shows. dlt starts its telemetry once per process, when its run
context is first made, so our defaults are also in the environment while that happens (and only then): a user's
RUNTIME__DLTHUB_TELEMETRY=true starts it; `dlthub_telemetry = true` in a TOML file is then resolved, but comes too
late to start it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# What suits a command-line tool run from anywhere, cron included: quiet, and no telemetry.
DLT_RUNTIME_DEFAULTS = {"log_level": "CRITICAL", "dlthub_telemetry": False}
DEFAULTS_PROVIDER = "benchmarks-etl defaults"


def use_dlt_configuration() -> Any:
    """Make dlt read its configuration as it is now, with `DLT_RUNTIME_DEFAULTS` below all of it; returns dlt's run
    context."""
    import dlt
    from dlt.common.configuration.providers import CustomLoaderDocProvider

    unset = {_variable(name): str(value) for name, value in DLT_RUNTIME_DEFAULTS.items()
             if _variable(name) not in os.environ}
    with _environment(unset):
        # made now if this is dlt's first use (its runtime starts with ours), then reloaded: the TOML files read
        # again, and every provider registered before dropped
        run_context = dlt.current.run_context().reload()
    defaults = {"runtime": dict(DLT_RUNTIME_DEFAULTS)}
    # locations=[]: dlt's message about a missing setting lists every provider's locations, and fails on None.
    dlt.config.register_provider(
        CustomLoaderDocProvider(DEFAULTS_PROVIDER, lambda: defaults, supports_secrets=False, locations=[])
    )
    run_context.initialize_runtime()  # log level and telemetry resolved again: the user's settings, else ours
    return run_context


def settings_folders(run_context: Any) -> list[Path]:
    """The folders dlt reads secrets.toml and config.toml from: the project's (.dlt in the working directory or
    DLT_PROJECT_DIR) and dlt's global folder."""
    return [Path(run_context.settings_dir), Path(run_context.global_dir)]


def _variable(name: str) -> str:
    return f"RUNTIME__{name.upper()}"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """`values` in the environment inside the block only (each name was unset before)."""
    os.environ.update(values)
    try:
        yield
    finally:
        for name in values:
            os.environ.pop(name, None)
