"""The peer: the same API loaded with dlt's declarative rest_api source, configured the obvious way.

Parent/child resources, default settings, test cases selected from `testCases` and their conversations left to
dlt's default nested tables. What a competent dlt user would write in an afternoon; it is here to be measured.
Usage: python perf/peer_rest_api.py BASE_URL DB_FILE [--api-key demo-key]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import dlt
import requests
from dlt.sources.rest_api import rest_api_source

API = "/api/v2/benchmarks/"


def peer_config(base_url: str, api_key: str, type_ids: list[int]) -> dict:
    resources: list[dict] = [
        {"name": "types", "endpoint": {"path": "types"}},
        {"name": "models", "endpoint": {"path": "models"}},
        {"name": "model_details", "endpoint": {"path": "models/{resources.models.id}"}},
    ]
    for type_id in type_ids:
        resources.append({
            "name": f"runs_type_{type_id}",
            "endpoint": {"path": "models/{resources.models.id}/runs", "params": {"benchmarkTypeId": type_id}},
            "include_from_parent": ["id"],
        })
        resources.append({
            "name": f"test_cases_type_{type_id}",
            "endpoint": {
                "path": f"models/{{resources.runs_type_{type_id}._models_id}}/runs/{{resources.runs_type_{type_id}.id}}"
                        "/test-cases",
                "data_selector": "testCases",
            },
        })
    return {
        "client": {"base_url": base_url.rstrip("/") + API, "headers": {"X-Api-Key": api_key},
                   "paginator": "single_page"},
        "resource_defaults": {"write_disposition": "replace"},
        "resources": resources,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("db")
    parser.add_argument("--api-key", default="demo-key")
    parser.add_argument("--pipelines-dir", default=None)
    args = parser.parse_args()
    started = time.monotonic()
    types = requests.get(args.base_url.rstrip("/") + API + "types", headers={"X-Api-Key": args.api_key},
                         timeout=60).json()
    source = rest_api_source(peer_config(args.base_url, args.api_key, [t["id"] for t in types]))
    pipeline = dlt.pipeline(pipeline_name="peer_rest_api", destination=dlt.destinations.duckdb(args.db),
                            dataset_name="peer", pipelines_dir=args.pipelines_dir)
    pipeline.run(source)
    json.dump({"seconds": round(time.monotonic() - started, 3)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
