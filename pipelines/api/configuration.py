"""The source's settings: one dlt configspec, resolved by dlt once per load and handed down as one object.

dlt looks every field up under [sources.benchmarks] in its own order: the values a command gives (its options),
the environment (SOURCES__BENCHMARKS__*), secrets.toml, config.toml, then the defaults below, which come from
pipelines/api/settings.py.
"""

from typing import Any

from dlt.common.configuration import configspec, known_sections, resolve_configuration
from dlt.common.configuration.exceptions import ConfigFieldMissingException, ConfigValueCannotBeCoercedException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from pipelines.api import api_key, settings
from pipelines.api.removals import check_fraction
from pipelines.api.security import check_base_url
from pipelines.errors import ConfigError

# Where dlt looks for a source's settings: sources.<section>.<name>, then up to sources.<section>.
SECTIONS = (known_sections.SOURCES, settings.SOURCE_NAME, settings.SOURCE_NAME)
SECRET_FIELDS = ("api_key",)


@configspec
class SourceSettings(BaseConfiguration):
    """The settings of the `benchmarks` source.

    Resolving them also settles the key to send (`api_key`, or the content of `api_key_file` read now, stripped and
    checked: pipelines/api/api_key.py) and checks the base URL and the removal fraction, so that a bad setting fails
    the load before any request.
    """

    api_key: TSecretStrValue | None = None  # sent as X-Api-Key; a secret (secrets.toml or the environment)
    api_key_file: str | None = None  # a file holding the key instead; not with api_key
    base_url: str = settings.DEFAULT_BASE_URL  # the API's root: EU (default) or https://us.api.probe.splx.ai
    workers: int = settings.DEFAULT_WORKERS  # concurrent HTTP requests
    request_timeout: float = settings.DEFAULT_REQUEST_TIMEOUT_S  # seconds one request may take in all, body included
    max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS  # attempts per request (429/5xx/connection errors retried)
    backoff_max: float = settings.DEFAULT_BACKOFF_MAX_S  # longest wait between two attempts, Retry-After included
    allow_insecure_http: bool = False  # a plain http:// base URL to a host other than loopback (the key in clear)
    type_ids: list[int] | None = None  # benchmark types to read runs for; None: all
    max_removal_fraction: float = settings.DEFAULT_MAX_REMOVAL_FRACTION  # the mass-removal guard (removals.py)
    max_body_mib: float = settings.DEFAULT_MAX_BODY_MIB  # largest body accepted, decompressed; larger: exit 5
    ca_bundle: str | None = None  # CA certificates to verify TLS with; None: REQUESTS_CA_BUNDLE or the bundled
    conversations: bool = True  # store each test case's messages; False: test_case_messages stays empty

    def on_resolved(self) -> None:
        self.api_key = api_key.key_to_send(self.api_key, self.api_key_file)
        # before anything (dlt's trace, the change check's record, an error) could record a URL with a password in it
        check_base_url(self.base_url, allow_insecure_http=self.allow_insecure_http)
        check_fraction(self.max_removal_fraction)
        if not self.max_body_mib or self.max_body_mib <= 0:
            raise ConfigError(
                f"{settings.MAX_BODY_SETTING} must be a positive number of MiB; got {self.max_body_mib!r}."
            )

    def public_values(self) -> dict[str, Any]:
        """Every setting but the key: what the change check records (identical lists mean identical data, whichever
        key read them)."""
        return {name: getattr(self, name) for name in self.get_resolvable_fields() if name not in SECRET_FIELDS}


def resolve_source_settings(**explicit: Any) -> SourceSettings:
    """The source's settings as dlt resolves them now: `explicit` values (a command's options) first."""
    try:
        return resolve_configuration(SourceSettings(), sections=SECTIONS, explicit_value=explicit)
    except ConfigFieldMissingException as exc:
        raise ConfigError(f"Missing settings {', '.join(exc.fields)} under [sources.benchmarks].") from None
    except ConfigValueCannotBeCoercedException as exc:
        expected = getattr(exc.hint, "__name__", exc.hint)
        raise ConfigError(
            f"Setting sources.benchmarks.{exc.field_name} = {exc.field_value!r} is not a valid {expected}."
        ) from None
