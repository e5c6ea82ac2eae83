"""Refuse to send the API key in clear text: plain http is allowed to loopback only, unless explicitly allowed; and
refuse credentials in the base URL (dlt records non-secret settings such as the URL in clear, so redacting them
afterwards would not be enough: the load stops before anything records the URL)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pipelines.errors import ConfigError
from pipelines.settings import API_KEY_SETTING

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def shown_url(url: str) -> str:
    """The URL as it may be printed or recorded: without anything before an `@` in its authority."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if "@" in parts.netloc else url


def check_base_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """The URL if it is safe to send the key to; ConfigError otherwise. TLS certificates are always verified."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ConfigError(
            f"--base-url must not hold a user name or password (user:password@ before the host; not shown): got "
            f"{shown_url(url)!r}. The API takes its key from {API_KEY_SETTING} or api_key_file, never from the URL."
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--base-url must be an http(s) URL such as https://api.probe.splx.ai; got {shown_url(url)!r}."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure_http:
        raise ConfigError(
            f"Refusing plain http to {parts.hostname}: the API key would travel in clear. Use https, or pass "
            "--allow-insecure-http if you really mean it."
        )
    return url
