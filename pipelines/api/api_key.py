"""The API key a load sends: from `api_key` or from the file `api_key_file` names, stripped and checked, and kept out
of every text we print or record.

A key read from a file written on Windows ends in CRLF; sent as it is, requests refuses the header with an error
that quotes the whole key. So surrounding whitespace is stripped, and a key with whitespace or control characters
inside is refused without showing it. Every key a load saw is remembered so that `redact` can take it out of any
error text before it is printed or stored (`pipelines/load/runner.py`), whatever library wrote that text.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from pipelines.api import settings
from pipelines.errors import ApiAuthError, ConfigError

READABLE_BY_OTHERS = stat.S_IRGRP | stat.S_IROTH
REDACTED = "***"
MIN_REDACTED_LENGTH = 4  # shorter strings would blank out ordinary words; no real key is that short
KEY_SETTING = "sources.benchmarks.api_key"
KEY_FILE_SETTING = "sources.benchmarks.api_key_file"

_seen_secrets: set[str] = set()


def key_to_send(api_key: str | None, api_key_file: str | None) -> str:
    """The key a load sends: `api_key` itself, or the content of `api_key_file` (read now, every load), stripped.
    Raises ApiAuthError (exit 3), or ConfigError when both are set (exit 2)."""
    if api_key is not None:
        remember_secret(api_key)
    if api_key is not None and api_key_file:
        raise ConfigError(
            f"Both {KEY_SETTING} and {KEY_FILE_SETTING} are set; keep one of them (the key is read from one place)."
        )
    if api_key_file:
        path = Path(api_key_file).expanduser()
        return clean_key(read_key_file(path), f"the key file {path}")
    if api_key is None:
        raise ApiAuthError(
            f"No API key configured: set {settings.API_KEY_SETTING} (or api_key under [sources.benchmarks] in "
            f".dlt/secrets.toml), or {settings.API_KEY_FILE_SETTING} to a file that holds it."
        )
    return clean_key(api_key, f"{settings.API_KEY_SETTING} / {KEY_SETTING}")


def read_key_file(path: Path) -> str:
    """The file's text; one line naming the path (never the content) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ApiAuthError(f"Cannot read the API key file {path}: {exc.strerror or type(exc).__name__}.") from None
    except UnicodeDecodeError:
        raise ApiAuthError(f"The API key file {path} is not UTF-8 text.") from None
    remember_secret(text)
    warn_if_readable_by_others(path, "the API key file")
    return text


def clean_key(raw: str, where: str) -> str:
    """`raw` without surrounding whitespace; ApiAuthError when what is left is empty or not one printable token."""
    key = str(raw).strip()
    remember_secret(key)
    if not key:
        raise ApiAuthError(f"The API key in {where} is empty.")
    if not all("!" <= character <= "~" for character in key):
        raise ApiAuthError(
            f"The API key in {where} holds whitespace, control or non-ASCII characters inside it (not shown); an "
            "API key is one printable token. Copy it again."
        )
    return key


def warn_if_readable_by_others(path: Path, what: str) -> None:
    """One line on stderr (also with --quiet): a secret in a file others can read is not secret."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & READABLE_BY_OTHERS:
        sys.stderr.write(
            f"warning: {path} ({what}) is readable by group or others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`.\n"
        )
        sys.stderr.flush()


def warn_about_readable_secrets_files(folders: list[Path]) -> None:
    """Every secrets.toml in dlt's settings `folders` (the project's .dlt/, dlt's global folder), and in the two
    places users keep one (./.dlt/ and ~/.dlt/), warned about once."""
    folders = [*folders, Path.cwd() / ".dlt", Path.home() / ".dlt"]
    candidates = {(folder / "secrets.toml").resolve() for folder in folders}
    for path in sorted(candidates):
        warn_if_readable_by_others(path, "dlt's secrets.toml")


def remember_secret(secret: str | None) -> None:
    if secret and len(secret.strip()) >= MIN_REDACTED_LENGTH:
        _seen_secrets.update({secret, secret.strip()})


def redact(text: str) -> str:
    """`text` with every secret this process has seen replaced by ***."""
    for secret in sorted(_seen_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def holds_secret(text: str) -> bool:
    return any(secret in text for secret in _seen_secrets)
