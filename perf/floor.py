"""The floor: the same requests as a full load, with the same concurrency, that only decode the JSON.

Nothing is stored. Whatever our load costs beyond this is our own processing (mapping, dlt, DuckDB).
Usage: python perf/floor.py BASE_URL [--workers 8] [--api-key demo-key]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import requests
from requests.adapters import HTTPAdapter

API = "/api/v2/benchmarks"


def crawl(base_url: str, api_key: str, workers: int) -> dict[str, int]:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=workers))
    session.headers["X-Api-Key"] = api_key
    counts = {"requests": 0, "test_cases": 0}

    def get(path: str, params: dict | None = None):
        response = session.get(base_url + API + path, params=params, timeout=60)
        response.raise_for_status()
        counts["requests"] += 1
        return orjson.loads(response.content)

    with ThreadPoolExecutor(workers) as pool:
        types = [t["id"] for t in get("/types")]
        scopes = [None, *types]
        model_lists = list(pool.map(lambda s: get("/models", {"benchmarkTypeId": s} if s else None), scopes))
        detail_calls = [(s, m["id"]) for s, models in zip(scopes, model_lists, strict=True) for m in models]
        list(pool.map(lambda p: get(f"/models/{p[1]}", {"benchmarkTypeId": p[0]} if p[0] else None), detail_calls))
        run_scopes = [(m["id"], t) for t, models in zip(types, model_lists[1:], strict=True) for m in models]
        run_lists = pool.map(lambda p: (p[0], get(f"/models/{p[0]}/runs", {"benchmarkTypeId": p[1]})), run_scopes)
        runs = [(model_id, run["id"]) for model_id, page in run_lists for run in page]
        for body in pool.map(lambda r: get(f"/models/{r[0]}/runs/{r[1]}/test-cases"), runs):
            counts["test_cases"] += len(body["testCases"])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--api-key", default="demo-key")
    args = parser.parse_args()
    started = time.monotonic()
    counts = crawl(args.base_url.rstrip("/"), args.api_key, args.workers)
    counts["seconds"] = round(time.monotonic() - started, 3)
    json.dump(counts, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
