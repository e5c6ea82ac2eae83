"""Leave the warehouse alone when nothing changed upstream.

Test cases are fetched only for runs whose counts or score changed, and those are all in the lists (types, models,
details, run lists). So a load that reads exactly the same list bodies, with the same settings and the same code,
as the last complete load has nothing to write. Finding that out needs only the list requests: no dlt, no DuckDB
write, no publish. That makes the hourly cron job of a quiet API cost a second instead of a full rewrite.

After every complete load, `fingerprint.json` beside the warehouse records a digest of: this code (pipelines/ and
sql/), the configuration inputs (the relevant environment variables and dlt's TOML files), the settings dlt
resolved from them (the API key included — in the digest only, never in the file) and every list body. The next load
goes the short way only when the configuration inputs and the published file are exactly as recorded; it reads the
lists with the recorded settings and compares digests. Any difference, or any doubt, means a normal load, which
then reuses the list bodies already read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines import paths
from pipelines.benchmarks.catalog import Catalog, LoadStats
from pipelines.benchmarks.helpers import ApiClient, ListRecorder, Prefetched
from pipelines.errors import ApiAuthError

FORMAT = 1
CODE_ROOT = Path(__file__).resolve().parent.parent
CODE_GLOBS = ("pipelines/**/*.py", "sql/**/*.sql", "sql/**/*.yml")
# Names (or name endings) of environment variables that can change what the load does: the source's settings under
# any of the section prefixes dlt accepts, and dlt's own (DLT_PROJECT_DIR, DLT_DATA_DIR, ...).
SOURCE_SETTINGS = (
    "API_KEY", "BASE_URL", "WORKERS", "REQUEST_TIMEOUT", "MAX_ATTEMPTS", "BACKOFF_MAX", "ALLOW_INSECURE_HTTP",
    "TYPE_IDS",
)
ENV_PREFIXES = ("SOURCES__", "DLT_")
KEY_SECTIONS = (("sources", "benchmarks", "benchmarks"), ("sources", "benchmarks"), ("sources",), ())


@dataclass
class Fingerprint:
    digest: str
    config_digest: str
    options: dict[str, Any]  # the source's settings as dlt resolved them, without the API key
    published: list[int]  # size, mtime_ns and inode of the published file


@dataclass(frozen=True)
class Check:
    unchanged: bool
    prefetched: Prefetched | None = None


def fingerprint_path(db_path: Path) -> Path:
    return paths.working_dir_for(db_path) / "fingerprint.json"


def forget(db_path: Path) -> None:
    """Called before a load changes anything: until it completes, the next load must not go the short way."""
    fingerprint_path(db_path).unlink(missing_ok=True)


def remember(db_path: Path, config_digest: str, stats: LoadStats) -> None:
    """Record a complete load. Not when a run vanished before its test cases were read: the lists may not change,
    yet the next load has test cases to fetch."""
    if stats.resolved_options is None or stats.runs_vanished:
        return
    options = {name: value for name, value in stats.resolved_options.items() if name != "api_key"}
    record = Fingerprint(
        digest=lists_digest(config_digest, stats.resolved_options, stats.lists.digests),
        config_digest=config_digest,
        options=options,
        published=_file_identity(db_path),
    )
    paths.write_text_atomically(fingerprint_path(db_path), json.dumps(asdict(record), indent=2))


def read(db_path: Path) -> Fingerprint | None:
    try:
        record = Fingerprint(**json.loads(fingerprint_path(db_path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return record


def check_unchanged(db_path: Path, config_digest: str, stats: LoadStats) -> Check:
    """Read the lists as the last complete load did and compare. Raises the API's errors, except a rejected key:
    the key found here may not be the one dlt would find, so the normal load decides."""
    recorded = read(db_path)
    if recorded is None or recorded.config_digest != config_digest:
        return Check(unchanged=False)
    if not recorded.published or recorded.published != _file_identity(db_path):
        return Check(unchanged=False)  # the published file was replaced, removed or written to since
    api_key = find_api_key()
    if not api_key:
        return Check(unchanged=False)
    stats.progress.stage("check", "reading the API's lists to see whether anything changed")
    options = {**recorded.options, "api_key": api_key}
    client_options = {name: value for name, value in options.items() if name != "type_ids"}
    recorder = ListRecorder(keep_bodies=True)
    client = ApiClient(**client_options, counter=stats.requests, recorder=recorder)
    try:
        runs_listed = Catalog(client, options.get("type_ids"), datetime.now(UTC), stats.progress).read_all()
    except ApiAuthError:
        return Check(unchanged=False)
    finally:
        client.close()
    if lists_digest(config_digest, options, recorder.digests) == recorded.digest:
        stats.runs_listed = runs_listed  # otherwise the normal load counts them as it maps them
        return Check(unchanged=True)
    return Check(
        unchanged=False,
        prefetched=Prefetched(client.base_url, Prefetched.key_digest_of(api_key), recorder.bodies or {}),
    )


def lists_digest(config_digest: str, options: dict[str, Any], list_digests: dict[str, str | None]) -> str:
    payload = {"format": FORMAT, "config": config_digest, "options": options, "lists": sorted(list_digests.items())}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def config_digest(call_options: dict[str, Any]) -> str:
    """Digest of everything that decides what a load does, besides the API's data: the code, the options given by
    the caller, the environment variables dlt may read them from, and dlt's TOML files wherever dlt may look."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for path in sorted(p for pattern in CODE_GLOBS for p in CODE_ROOT.glob(pattern)):
        digest.update(f"{path.relative_to(CODE_ROOT)}\n".encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(call_options, sort_keys=True, default=str).encode("utf-8"))
    for name, value in sorted(_config_environment().items()):
        digest.update(f"\n{name}={value}".encode())
    for path in settings_files():
        try:
            content = path.read_bytes()
        except OSError:
            content = b"<absent>"
        digest.update(f"\n{path}\n".encode() + content)
    return digest.hexdigest()


def settings_dirs() -> list[Path]:
    """Every folder dlt may read config.toml and secrets.toml from: the project's `.dlt` and each candidate for
    dlt's global folder (more than dlt uses at once; reading one too many only costs a stat)."""
    project = Path(os.environ.get("DLT_PROJECT_DIR", ".")).resolve() / ".dlt"
    candidates = [project, Path.home() / ".dlt", Path("/var/dlt"), Path(tempfile.gettempdir()) / "dlt"]
    for variable, suffix in (("DLT_DATA_DIR", ""), ("XDG_DATA_HOME", "dlt")):
        if os.environ.get(variable):
            candidates.append(Path(os.environ[variable]) / suffix)
    return list(dict.fromkeys(candidates))


def settings_files() -> list[Path]:
    return [folder / name for folder in settings_dirs() for name in ("secrets.toml", "config.toml")]


def find_api_key() -> str | None:
    """The API key where users put it (environment first, then secrets.toml and config.toml, most specific section
    first, as dlt looks). Should dlt find another key, the digests differ and the normal load runs."""
    for sections in KEY_SECTIONS:
        value = os.environ.get("__".join([*(s.upper() for s in sections), "API_KEY"]))
        if value:
            return value
    for path in sorted(settings_files(), key=lambda p: p.name != "secrets.toml"):
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for sections in KEY_SECTIONS:
            table: Any = document
            for section in sections:
                table = table.get(section) if isinstance(table, dict) else None
            value = table.get("api_key") if isinstance(table, dict) else None
            if isinstance(value, str) and value:
                return value
    return None


def _config_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name.upper().startswith(ENV_PREFIXES) or name.upper().endswith(SOURCE_SETTINGS)
    }


def _file_identity(path: Path) -> list[int]:
    try:
        stat = path.stat()
    except OSError:
        return []
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]
