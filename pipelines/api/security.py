"""Refuse to send the API key in clear text: plain http is allowed to loopback only, unless explicitly allowed; and
refuse credentials in the base URL (dlt records non-secret settings such as the URL in clear, so redacting them
afterwards would not be enough: the load stops before anything records the URL)."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import quote, urlsplit

from pipelines.api.settings import API_KEY_SETTING
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


# --- Where the key may go: the configured origin only, never in clear through a proxy, TLS always verified ---

NO_PROXIES = {"http": None, "https": None, "all": None}  # None overrides what requests would take from the environment


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, the default port made explicit: what "the same server" means for the key."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def shown_url(url: str, limit: int = 120) -> str:
    """A URL fit for an error message: no user:password, query or fragment (they may hold secrets), no control
    characters, at most `limit` characters."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    path = quote(parts.path, safe="/%-._~!$&'()*+,;=:@")
    query = "?..." if parts.query else ""
    text = f"{parts.scheme}://{host}{port}{path}{query}" if parts.scheme else quote(url[:limit], safe="/:.-_~")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def proxies_for(base_url: str, *, allow_insecure_http: bool = False) -> dict[str, None] | None:
    """The proxies a request to `base_url` may use: those of the environment (None), or none at all.

    Through a proxy, plain http hands the key in clear to the proxy (and whatever it forwards to), so a plain-http
    base URL never uses one unless --allow-insecure-http. https goes through any proxy as a CONNECT tunnel: the
    proxy sees the host name, never the key, and the server's certificate is verified end to end.
    """
    if urlsplit(base_url).scheme == "https" or allow_insecure_http:
        return None
    return dict(NO_PROXIES)


def ca_bundle_for(setting: str | None) -> str | bool:
    """What requests verifies certificates with: the `ca_bundle` setting, else True (certifi, or REQUESTS_CA_BUNDLE /
    CURL_CA_BUNDLE from the environment). Never False. A path that does not exist is refused up front."""
    candidates = [("sources.benchmarks.ca_bundle", setting)] + [
        (name, os.environ.get(name)) for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    ]
    for name, value in candidates:
        if value and not os.path.exists(value):
            raise ConfigError(f"{name} = {value!r}: no such file or directory of CA certificates.")
        if value and name == "sources.benchmarks.ca_bundle":
            return value
    return True
