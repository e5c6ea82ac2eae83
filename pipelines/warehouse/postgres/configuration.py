"""PostgreSQL's settings: dlt's own `PostgresCredentials` configspec, under [destination.postgres] as dlt reads them.

A load (and `verify`) connects with `credentials`; the reading commands (query, report, export, status) with
`read_credentials` when that is set, and then never need the loader's (README, "Giving dashboards read-only access").
"""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError

READ_CREDENTIALS_SETTING = "DESTINATION__POSTGRES__READ_CREDENTIALS"
CREDENTIALS_HELP = (
    "set DESTINATION__POSTGRES__CREDENTIALS=postgresql://user:password@host:port/database, or `credentials` under "
    "[destination.postgres] in .dlt/secrets.toml"
)


def resolve_credentials(*, reading: bool) -> Any:
    """dlt's PostgresCredentials as dlt resolves them now: the read role's when `reading` and they are set, else the
    loader's. Raises a ConfigError naming what to set."""
    if reading:
        read_credentials = _resolve("read_credentials", required=False)
        if read_credentials is not None:
            return read_credentials
    return _resolve("credentials", required=True)


def _resolve(key: str, *, required: bool) -> Any:
    """destination.postgres.<key> (a URL or a table of fields); None when that key is not set and not required. The
    loader's are resolved by dlt's section lookup, as dlt itself does; the read role's only from their own key."""
    import dlt
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.exceptions import ConfigurationException
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    try:
        if required:
            return resolve_configuration(PostgresCredentials(), sections=("destination", "postgres", key))
        value = dlt.secrets.get(f"destination.postgres.{key}")  # no fallback to the loader's credentials
        return None if value is None else resolve_configuration(PostgresCredentials(), explicit_value=value)
    except ConfigurationException:
        help_text = CREDENTIALS_HELP if required else (
            f"set {READ_CREDENTIALS_SETTING}=postgresql://user:password@host:port/database"
        )
        raise ConfigError(f"No usable PostgreSQL {key.replace('_', ' ')}: {help_text}.") from None
