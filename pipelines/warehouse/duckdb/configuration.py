"""DuckDB's settings for a load: a dlt configspec under [warehouse] (.dlt/config.toml; WAREHOUSE__* in the
environment), resolved by dlt once per load and given to the engine when it is built (`DuckDbFile`)."""

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration

from pipelines.warehouse import settings
from pipelines.warehouse.duckdb.memory import memory_limit_bytes

SECTIONS = ("warehouse",)


@configspec
class DuckDbSettings(BaseConfiguration):
    """The storage format a load writes (a file in another one is converted) and the memory DuckDB may take while
    loading; both default to pipelines/warehouse/settings.py."""

    duckdb_storage_version: str = settings.DEFAULT_DUCKDB_STORAGE_VERSION
    duckdb_memory_limit: str = settings.DEFAULT_DUCKDB_MEMORY_LIMIT

    def on_resolved(self) -> None:
        memory_limit_bytes(self.duckdb_memory_limit)  # a ConfigError now rather than a DuckDB error later


def resolve_duckdb_settings() -> DuckDbSettings:
    return resolve_configuration(DuckDbSettings(), sections=SECTIONS)
