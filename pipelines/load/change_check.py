"""Leave the warehouse alone when nothing changed upstream.

Test cases are fetched only for runs whose counts or score changed, and those are all in the lists (types, models,
details, run lists). So a load that reads exactly the same list bodies, with the same settings and the same code,
as the last complete load has nothing to write. Finding that out needs only the list requests: no dlt pipeline, no
warehouse write, no publish. That makes the hourly cron job of a quiet API cost a second or two instead of a full
rewrite.

After every complete load, `fingerprint.json` in the warehouse's working folder records a digest of this code
(pipelines/ and sql/), the settings dlt resolved for the load (the source's, the API key aside: identical lists mean
identical data, whichever key read them; and the engine's) and every list body. The next load resolves its settings
with dlt as every load does, and goes the short way only when the code, the settings and the published warehouse
are exactly as recorded and the lists read the same. Any difference, or any doubt, means a normal load, which then
reuses the list bodies already read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.api.client import ApiClient, ListRecorder, Prefetched
from pipelines.api.configuration import SourceSettings
from pipelines.api.lists import ApiLists
from pipelines.api.stats import SourceStats
from pipelines.errors import ApiAuthError
from pipelines.warehouse import paths
from pipelines.warehouse.engine import Engine

FORMAT = 3
CODE_ROOT = Path(__file__).resolve().parents[2]
CODE_GLOBS = ("pipelines/**/*.py", "sql/**/*.sql", "sql/**/*.yml")


@dataclass
class Fingerprint:
    digest: str  # code, settings and list bodies
    settings_digest: str  # code and settings: when they differ, the lists need not even be read
    options: dict[str, Any]  # the settings, without the API key
    published: list[int]  # the published warehouse's identity (Engine.published_identity)


@dataclass(frozen=True)
class Check:
    unchanged: bool
    runs_listed: int = 0
    prefetched: Prefetched | None = None


def fingerprint_path(engine: Engine) -> Path:
    return engine.working_dir / "fingerprint.json"


def forget(engine: Engine) -> None:
    """Called before a load changes anything: until it completes, the next load must not go the short way."""
    fingerprint_path(engine).unlink(missing_ok=True)


def remember(engine: Engine, source_settings: SourceSettings, stats: SourceStats) -> None:
    """Record a complete load. Not when a run vanished before its test cases were read: the lists may not change,
    yet the next load has test cases to fetch."""
    if stats.runs_vanished:
        return
    options = public_settings(source_settings, engine)
    digest_of_settings = settings_digest(options)  # hashes every code file: once
    record = Fingerprint(
        digest=lists_digest(digest_of_settings, stats.lists.digests),
        settings_digest=digest_of_settings,
        options=options,
        published=engine.published_identity(),
    )
    paths.write_text_atomically(fingerprint_path(engine), json.dumps(asdict(record), indent=2, default=str))


def read(engine: Engine) -> Fingerprint | None:
    try:
        return Fingerprint(**json.loads(fingerprint_path(engine).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def check_unchanged(engine: Engine, source_settings: SourceSettings, stats: SourceStats) -> Check:
    """Read the lists as a load would and compare with the last complete load. Raises the API's errors, except a
    rejected key, which is left to the normal load to report."""
    recorded = read(engine)
    if recorded is None or recorded.settings_digest != settings_digest(public_settings(source_settings, engine)):
        return Check(unchanged=False)
    if not recorded.published or recorded.published != engine.published_identity():
        return Check(unchanged=False)  # the published warehouse was replaced, removed or written to since
    stats.progress.stage("check", "reading the API's lists to see whether anything changed")
    recorder = ListRecorder(keep_bodies=True)
    try:
        with ApiClient(source_settings, counter=stats.requests, recorder=recorder) as client:
            lists = ApiLists(client, source_settings.type_ids, datetime.now(UTC), stats.progress)
            runs_listed = lists.read_all()
    except ApiAuthError:
        return Check(unchanged=False)
    if lists_digest(recorded.settings_digest, recorder.digests) == recorded.digest:
        return Check(unchanged=True, runs_listed=runs_listed)
    key_digest = Prefetched.key_digest_of(source_settings.api_key)
    return Check(unchanged=False, prefetched=Prefetched(client.base_url, key_digest, recorder.bodies or {}))


def public_settings(source_settings: SourceSettings, engine: Engine) -> dict[str, Any]:
    """What decides what a load does besides the code and the API's data: the source's settings without the key,
    and the engine's own."""
    return {**source_settings.public_values(), **engine.load_settings()}


def settings_digest(options: dict[str, Any]) -> str:
    """Digest of everything that decides what a load does, besides the API's data: the code and the settings."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for path in sorted(p for pattern in CODE_GLOBS for p in CODE_ROOT.glob(pattern)):
        digest.update(f"{path.relative_to(CODE_ROOT)}\n".encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()


def lists_digest(settings_digest: str, list_digests: dict[str, str | None]) -> str:
    payload = {"format": FORMAT, "settings": settings_digest, "lists": sorted(list_digests.items())}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()
