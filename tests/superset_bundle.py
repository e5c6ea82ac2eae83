"""The dashboard bundle of bi/superset/ as the tests import it: zipped as Superset's export is, its one database
pointed at the warehouse under test, imported through /api/v1/dashboard/import/; and removed again, so that the
other engine's import starts from nothing (Superset's dashboard import never overwrites a database, dataset or chart
it already holds: the second import would keep the first one's connection)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import yaml

from tests.readers import REPO_ROOT
from tests.superset_server import SupersetClient

BUNDLE = REPO_ROOT / "bi" / "superset" / "bundle"
EXPECTED = REPO_ROOT / "bi" / "superset" / "expected"
DATABASE_FILE = "databases/benchmarks_warehouse.yaml"
MASKED_PASSWORD = "XXXXXXXXXX"  # what Superset's export writes in place of a password


def bundle_zip(sqlalchemy_uri: str, bundle: Path = BUNDLE) -> bytes:
    """The bundle's YAML files in one folder of a zip, the database's URI replaced by `sqlalchemy_uri` (with its
    password masked, as an export has it: the import takes the password apart)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(bundle.rglob("*.yaml")):
            name = path.relative_to(bundle).as_posix()
            text = path.read_text()
            if name == DATABASE_FILE:
                config = yaml.safe_load(text)
                config["sqlalchemy_uri"] = sqlalchemy_uri
                text = yaml.safe_dump(config, sort_keys=False)
            archive.writestr(f"benchmarks_dashboard/{name}", text)
    return buffer.getvalue()


def import_bundle(client: SupersetClient, sqlalchemy_uri: str, password: str | None = None) -> None:
    """Imports the bundle as Superset's UI does (the password, if any, given apart from the masked URI)."""
    passwords = {DATABASE_FILE: password} if password else {}  # keyed by the path below the zip's folder
    client.post("/api/v1/dashboard/import/", expect=200,
                files={"formData": ("benchmarks_dashboard.zip", bundle_zip(sqlalchemy_uri), "application/zip")},
                data={"overwrite": "true", "passwords": json.dumps(passwords)})


def remove_bundle(client: SupersetClient) -> None:
    """Deletes what the import made (dashboard, charts, datasets, then the database), found by the bundle's UUIDs."""
    for kind, folder in (("dashboard", "dashboards"), ("chart", "charts"), ("dataset", "datasets"),
                         ("database", "databases")):
        for uuid in bundle_uuids(folder):
            found = client.get(f"/api/v1/{kind}/", q=f"(filters:!((col:uuid,opr:eq,value:'{uuid}')))")
            for item in found["result"]:
                response = client.session.delete(f"{client.url}/api/v1/{kind}/{item['id']}", timeout=60)
                assert response.status_code == 200, f"DELETE {kind} {item['id']}: {response.text[:500]}"


def bundle_uuids(folder: str) -> list[str]:
    return [yaml.safe_load(path.read_text())["uuid"] for path in sorted((BUNDLE / folder).rglob("*.yaml"))]


def charts() -> dict[str, dict[str, Any]]:
    """Each chart's YAML by its file's stem, which names its expected query (expected/<stem>.sql)."""
    return {path.stem: yaml.safe_load(path.read_text()) for path in sorted((BUNDLE / "charts").glob("*.yaml"))}


def expected_sql(chart: str) -> str:
    return (EXPECTED / f"{chart}.sql").read_text()
