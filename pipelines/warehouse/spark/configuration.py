"""Spark's settings: where the lake is and which Spark Connect endpoint serves it, a dlt configspec under
[destination.spark] (DESTINATION__SPARK__* in the environment), resolved by dlt for every command."""

from __future__ import annotations

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from pipelines.errors import ConfigError
from pipelines.warehouse import settings

SECTIONS = ("destination", "spark")
MIN_LEASE_SECONDS = 1.0
SETTINGS_HELP = (
    "set DESTINATION__SPARK__LAKE_URL (a folder or any URL dlt's filesystem destination accepts) and "
    "DESTINATION__SPARK__CONNECT_URL (sc://host:port of a Spark Connect server), or `lake_url` and `connect_url` "
    "under [destination.spark] in .dlt/config.toml / secrets.toml"
)


@configspec
class SparkSettings(BaseConfiguration):
    """The lake the raw tables land in as Parquet (every Spark executor must reach the same URL) and the Spark
    Connect endpoint that creates the views over it; a secret, since a Connect URL may carry a token. The load
    lock's lease (spark/lease.py) lasts `lease_seconds` unless renewed: how long a killed load blocks the next."""

    lake_url: str = None
    connect_url: TSecretStrValue = None
    lease_seconds: float = settings.DEFAULT_SPARK_LEASE_SECONDS
    # a load compacts the lake when readers' rows are spread over more loads' files than this (spark/compaction.py)
    compact_after_loads: int = settings.DEFAULT_SPARK_COMPACT_AFTER_LOADS

    def on_resolved(self) -> None:
        if not self.lease_seconds >= MIN_LEASE_SECONDS:
            raise ConfigError(f"destination.spark.lease_seconds must be at least {MIN_LEASE_SECONDS:g} (it is renewed "
                              f"every third of it), not {self.lease_seconds:g}.")
        if not self.compact_after_loads >= 1:
            raise ConfigError("destination.spark.compact_after_loads must be at least 1, "
                              f"not {self.compact_after_loads}.")


def resolve_spark_settings() -> SparkSettings:
    """Raises a ConfigError naming what to set when either is missing."""
    try:
        return resolve_configuration(SparkSettings(), sections=SECTIONS)
    except ConfigurationException:
        raise ConfigError(f"No Spark lake or endpoint: {SETTINGS_HELP}.") from None
