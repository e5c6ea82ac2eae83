"""Refuse to send the API key in clear text: plain http is allowed to loopback only, unless explicitly allowed."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pipelines.errors import ConfigError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """The URL if it is safe to send the key to; ConfigError otherwise. TLS certificates are always verified."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--base-url must be an http(s) URL such as https://api.probe.splx.ai; got {url!r}.")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure_http:
        raise ConfigError(
            f"Refusing plain http to {parts.hostname}: the API key would travel in clear. Use https, or pass "
            "--allow-insecure-http if you really mean it."
        )
    return url
