"""dlt's configuration for one load: read afresh from wherever the user keeps it, with our runtime defaults last.

dlt reads its runtime settings (log level, telemetry) once, when its run context is first used, and its TOML files
when the context's providers are made. A load calls `use_current_configuration` first, so that what the user
configured (environment, secrets.toml, config.toml, in the working directory or dlt's global folder) is what this
load sees, as in a new process, and our defaults fill only what nobody configured. --verbose sets
RUNTIME__LOG_LEVEL, which beats everything.

dlt logs a failed load job's traceback at ERROR, and again at WARNING for every retry: hundreds of lines for one
DuckDB out-of-memory. So our default is CRITICAL (nothing of dlt's): the user gets our one `error:` line, which
names the cause; --verbose, or a log_level the user configured, shows dlt's logs.
"""

from __future__ import annotations

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.container import Container
from dlt.common.configuration.providers import CustomLoaderDocProvider
from dlt.common.configuration.specs import BaseConfiguration, PluggableRunContext

from pipelines import settings

# What suits a command-line tool run from anywhere, cron included: quiet, and no telemetry.
DLT_RUNTIME_DEFAULTS = {"log_level": "CRITICAL", "dlthub_telemetry": False}


def use_current_configuration() -> None:
    """Make dlt's providers read the configuration as it is now, with `DLT_RUNTIME_DEFAULTS` below all of them."""
    container = Container()
    if PluggableRunContext in container:
        run_context = container[PluggableRunContext]
        run_context.reload_providers()  # TOML files read again; our provider has to be added again too
        run_context.providers.add_provider(_defaults_provider())
    else:
        run_context = PluggableRunContext()  # the run context dlt would create on first use
        run_context.providers.add_provider(_defaults_provider())
        container[PluggableRunContext] = run_context  # dlt resolves its runtime settings now, with ours last


def _defaults_provider() -> CustomLoaderDocProvider:
    defaults = {"runtime": dict(DLT_RUNTIME_DEFAULTS)}
    # locations=[]: dlt's message about a missing setting lists every provider's locations, and fails on None.
    return CustomLoaderDocProvider("benchmarks-etl defaults", lambda: defaults, supports_secrets=False, locations=[])


@configspec
class WarehouseSettings(BaseConfiguration):
    """The warehouse's own settings ([warehouse] in .dlt/config.toml, WAREHOUSE__* in the environment)."""

    duckdb_storage_version: str = settings.DEFAULT_DUCKDB_STORAGE_VERSION
    duckdb_memory_limit: str = settings.DEFAULT_DUCKDB_MEMORY_LIMIT


def resolve_warehouse_settings() -> dict[str, str]:
    resolved = resolve_configuration(WarehouseSettings(), sections=("warehouse",))
    return {name: getattr(resolved, name) for name in WarehouseSettings.get_resolvable_fields()}
