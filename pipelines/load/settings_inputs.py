"""What dlt consulted to resolve the source's settings, so that a later load can tell without dlt that dlt would
resolve exactly the same settings again.

Importing dlt takes longer than a whole load that finds nothing changed upstream (perf/RESULTS-medium.md). So when
a load resolves its settings with dlt (`resolve_with_dlt`), it also records, from dlt's own lookup traces and
providers: the environment variables dlt looked up, the TOML files its providers read, and where it found the API
key. The next load hashes those same inputs (`SettingsInputs.digest`, no dlt needed): when nothing in them changed,
dlt's answer cannot have changed either, and the recorded settings are used, with the key read again from exactly
where dlt found it. Anything else (a changed input, a key from another kind of provider, a dlt upgrade) means
resolving with dlt again. Nothing here decides by itself where settings come from: dlt does, and we replay it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

# Environment variables that decide which TOML files dlt reads (project and global folders), besides cwd.
LOCATION_VARIABLES = ("DLT_PROJECT_DIR", "DLT_DATA_DIR", "DLT_CONFIG_FOLDER", "HOME", "XDG_DATA_HOME")
ENVIRONMENT_PROVIDER = "Environment Variables"
TOML_PROVIDERS = ("secrets.toml", "config.toml")


@dataclass(frozen=True)
class SettingsInputs:
    environment: list[str]  # the environment variables dlt looked up for the settings
    files: list[str]  # the TOML files dlt's providers read (absolute paths; absent ones included)
    key_source: list[str]  # ["explicit"], ["environment", NAME], ["toml", FILE, *SECTIONS, KEY] or ["none"] (the
    # key comes from api_key_file, a recorded setting: pipelines/api/api_key.py reads that file afresh on every load)

    def digest(self, explicit: dict[str, Any]) -> str:
        """Everything dlt's answer depends on, as it is now: the same digest means the same resolved settings."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode())
        digest.update(f"dlt {version('dlt')}\ncwd {os.getcwd()}\nuid {os.getuid()}\n".encode())
        digest.update(json.dumps(explicit, sort_keys=True, default=str).encode())
        for name in sorted({*self.environment, *LOCATION_VARIABLES}):
            digest.update(f"\n{name}={os.environ.get(name)}".encode())
        for file in self.files:
            try:
                digest.update(f"\n{file}\n".encode() + Path(file).read_bytes())
            except OSError:
                digest.update(f"\n{file} absent".encode())
        return digest.hexdigest()

    def read_api_key(self, explicit: dict[str, Any]) -> str | None:
        """The key, read again from where dlt found it."""
        kind, *where = self.key_source
        if kind == "none":
            return None
        if kind == "explicit":
            return explicit.get("api_key")
        if kind == "environment":
            return os.environ.get(where[0])
        table: Any = _read_toml(Path(where[0]))
        for name in where[1:]:
            table = table.get(name) if isinstance(table, dict) else None
        return table if isinstance(table, str) else None


def resolve_with_dlt(explicit: dict[str, Any]) -> tuple[dict[str, Any], SettingsInputs | None]:
    """The source's and the warehouse's settings as dlt resolves them, and what it consulted (None when that cannot
    be replayed without dlt)."""
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.providers import EnvironProvider
    from dlt.common.configuration.specs import PluggableRunContext
    from dlt.common.configuration.utils import get_resolved_traces

    from pipelines.api.source import resolve_settings
    from pipelines.load.dlt_runtime import resolve_warehouse_settings, use_current_configuration

    use_current_configuration()
    traces = get_resolved_traces()
    traces.clear()
    settings = {**resolve_settings(**explicit), **resolve_warehouse_settings()}
    fields = set(settings)
    looked_up = [trace for trace in traces.all_traces if trace.key in fields]
    providers = Container()[PluggableRunContext].providers.providers
    files = sorted({str(Path(location).resolve()) for provider in providers if provider.name in TOML_PROVIDERS
                    for location in provider.locations})
    environment = sorted({EnvironProvider.get_key_name(trace.key, *trace.sections) for trace in looked_up
                          if trace.provider_name == ENVIRONMENT_PROVIDER})
    key_source = _key_source(settings["api_key"], looked_up, files, explicit)
    if key_source is None or any(t.provider_name not in (ENVIRONMENT_PROVIDER, *TOML_PROVIDERS) for t in looked_up
                                 if t.is_resolved() and t.key != "api_key" and t.key not in explicit):
        return settings, None
    return settings, SettingsInputs(environment, files, key_source)


def _key_source(api_key: str | None, traces: list[Any], files: list[str], explicit: dict[str, Any]) -> list[str] | None:
    """Where dlt found the key, checked to give back exactly that key; None for anything we cannot read again."""
    if api_key is None:
        return ["none"]
    if explicit.get("api_key") == api_key:
        return ["explicit"]
    from dlt.common.configuration.providers import EnvironProvider

    for trace in traces:
        if trace.key != "api_key" or not trace.is_resolved():
            continue
        if trace.provider_name == ENVIRONMENT_PROVIDER:
            name = EnvironProvider.get_key_name(trace.key, *trace.sections)
            return ["environment", name] if os.environ.get(name) == api_key else None
        if trace.provider_name in TOML_PROVIDERS:
            candidates = [["toml", file, *trace.sections, trace.key] for file in files
                          if Path(file).name == trace.provider_name]
            found = [source for source in candidates if SettingsInputs([], [], source).read_api_key({}) == api_key]
            return found[0] if found else None
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
