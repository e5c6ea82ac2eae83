"""A tiny real HTTP server that answers fixed bodies per path: for API responses the simulator never gives.

The tests use it to check how the loader treats malformed or hostile responses (bad JSON, HTML, wrong types, ...);
perf/big_body.py serves its very large bodies with it.
"""

from __future__ import annotations

import socketserver
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import orjson

API = "/api/v2/benchmarks"
# The run list and test cases of run 10 (model 1, type 1) in small_world()
RUNS = f"{API}/models/1/runs?benchmarkTypeId=1"
CASES = f"{API}/models/1/runs/10/test-cases"


class LoopbackServer:
    """A socketserver on 127.0.0.1 served by a background thread while the `with` block runs (subclasses set
    `self.server` and `self.url`, then call `_serve_in_background`)."""

    server: socketserver.BaseServer
    url: str

    def _serve_in_background(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, as the API) and no log line per request."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass


class CraftedApi(LoopbackServer):
    """Serves `routes`: path (with query, without the host) -> (status, body bytes or JSON-able, content type)."""

    def __init__(self, routes: dict[str, tuple[int, Any, str] | Any]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._serve_in_background()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                api.requests.append(self.path)
                route = api.routes.get(self.path)
                if route is None:
                    status, body, content_type = 404, {"error": {"message": "Not found", "code": "NOT_FOUND"}}, None
                elif isinstance(route, tuple):
                    status, body, content_type = route
                else:
                    status, body, content_type = 200, route, None
                data = body if isinstance(body, bytes) else orjson.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", content_type or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class SlowApi(CraftedApi):
    """A CraftedApi whose `slow_path` sends its headers, then stalls ("stall") or sends its body one byte every
    0.2 s ("drip"), until `release` is set, then sends the rest; from then on it answers normally. `reached` is set
    when the slow answer begins: a load is then under way, holding its lock, whatever the speed of the machine."""

    def __init__(self, routes: dict[str, Any], slow_path: str, mode: str = "stall") -> None:
        self.slow_path, self.mode = slow_path, mode
        self.reached, self.release = threading.Event(), threading.Event()
        super().__init__(routes)

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        super().__exit__(*exc)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api, base = self, super()._handler()

        class SlowHandler(base):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path != api.slow_path or api.release.is_set():
                    return super().do_GET()
                data = orjson.dumps(api.routes[self.path])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                api.reached.set()
                sent = 0
                while sent < len(data) and not api.release.wait(0.2 if api.mode == "drip" else None):
                    self.wfile.write(data[sent:sent + 1])
                    sent += 1
                with suppress(OSError):  # released: the rest at once (the client may have gone)
                    self.wfile.write(data[sent:])
                return None

        return SlowHandler


def small_world(**overrides: Any) -> dict[str, Any]:
    """Routes of a consistent one-type, one-model, one-run API; `overrides` replace or add routes."""
    model = {"id": 1, "name": "gpt-test", "provider": "OpenAI", "benchmarkDate": "2025-03-01T10:00:00.000Z",
             "url": None, "scores": {"Jailbreak": 50.0}}
    details = {**model, "description": "A model", "totalCount": 3, "passedCount": 1, "failedCount": 1,
               "config": {"temperature": 0.2}, "metadata": {}, "ranks": {"Jailbreak": 1}}
    run = {"id": 10, "createdAt": "2025-03-01T10:00:00.000Z", "probeId": 100, "probeName": "Jailbreak",
           "probeCategoryId": 1000, "probeCategoryName": "Jailbreak", "score": 50.0,
           "totalCount": 3, "passedCount": 1, "failedCount": 1}
    cases = [
        {"id": 100001, "result": "PASSED", "attack": "A-1", "strategy": "Multi Shot", "redTeamer": "Black box",
         "variation": "Leet speak", "detectionTime": None, "conversation": [{"role": "user", "content": "hi"}]},
        {"id": 100002, "result": "FAILED", "attack": "A-2", "strategy": "Multi Shot", "redTeamer": "Black box",
         "variation": "Default language", "detectionTime": "2025-03-01T10:00:01.000Z", "conversation": []},
        {"id": 100003, "result": "ERROR", "attack": "A-3", "strategy": "Delayed attack", "redTeamer": "Black box",
         "variation": "Multilanguage", "detectionTime": None,
         "conversation": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
    ]
    routes: dict[str, Any] = {
        f"{API}/types": [{"id": 1, "name": "Security", "description": None}],
        f"{API}/models": [model],
        f"{API}/models?benchmarkTypeId=1": [model],
        f"{API}/models/1": details,
        f"{API}/models/1?benchmarkTypeId=1": details,
        f"{API}/models/1/runs?benchmarkTypeId=1": [run],
        f"{API}/models/1/runs/10/test-cases": {**run, "testCases": cases},
    }
    routes.update(overrides)
    return routes


def huge_and_deep_overrides() -> tuple[dict[str, Any], str, dict[str, Any], int]:
    """Overrides of small_world(): a 5 MB message in the first test case and a 200-level nested `config` in model
    1's details. Returns (overrides, the message, the config, the first test case's id)."""
    world = small_world()
    huge = "é☃ line\n" * (5 * 1024 * 1024 // 11)
    cases = world[CASES]["testCases"]
    cases[0] = {**cases[0], "conversation": [{"role": "user", "content": huge}]}
    deep: dict[str, Any] = {"leaf": 1}
    for level in range(200):
        deep = {f"level{level}": deep}
    details = {**world[f"{API}/models/1"], "config": deep}
    return {CASES: {**world[CASES], "testCases": cases}, f"{API}/models/1": details}, huge, deep, cases[0]["id"]


def changed_world(cases: int = 3) -> dict[str, Any]:
    """small_world() one upstream change later: run 10 re-scored with `cases` test cases, all passed."""
    run = {**small_world()[RUNS][0], "score": 100.0, "totalCount": cases, "passedCount": cases, "failedCount": 0}
    template = small_world()[CASES]["testCases"][0]
    test_cases = [
        {**template, "id": 300_000 + i, "attack": f"A-{i}", "conversation": [
            {"role": "user", "content": f"prompt {i} " * 8}, {"role": "assistant", "content": f"answer {i}"}]}
        for i in range(cases)
    ]
    return small_world(**{RUNS: [run], CASES: {**run, "testCases": test_cases}})


# "" is not NULL, and neither is whitespace: a world with all three in every text field the API sends.
BLANKS = ("", None, " \t ")


def blank_world() -> dict[str, Any]:
    """small_world's routes, rebuilt with three types, three models, a run per (model, type) and three test cases
    per run: every text field takes "", None and whitespace in turn, at every level (types, models, details,
    score categories, runs, test cases, messages)."""
    def blank(index: int) -> str | None:
        return BLANKS[index % len(BLANKS)]

    types = [{"id": t, "name": blank(t), "description": blank(t + 1)} for t in (1, 2, 3)]
    models = [{"id": m, "name": blank(m), "provider": blank(m + 1), "benchmarkDate": "2025-03-01T10:00:00.000Z",
               "url": blank(m + 2), "scores": {"": 10.0 * m, " \t ": None, "Jailbreak": 5.0}} for m in (1, 2, 3)]
    routes: dict[str, Any] = {f"{API}/types": types, f"{API}/models": models}
    for model in models:
        m = model["id"]
        details = {**model, "description": blank(m), "totalCount": 9, "passedCount": 3, "failedCount": 3,
                   "config": {"note": blank(m) if blank(m) is not None else "none"}, "metadata": {},
                   "ranks": {"": 1, " \t ": 2}}
        routes[f"{API}/models/{m}"] = details
        for t in (1, 2, 3):
            routes[f"{API}/models?benchmarkTypeId={t}"] = models
            routes[f"{API}/models/{m}?benchmarkTypeId={t}"] = details
            run = {"id": 10 * m + t, "createdAt": "2025-03-01T10:00:00.000Z", "probeId": 100 + t,
                   "probeName": blank(t), "probeCategoryId": 1000 + t, "probeCategoryName": blank(t + m),
                   "score": 50.0, "totalCount": 3, "passedCount": 1, "failedCount": 1}
            cases = [{"id": 1000 * run["id"] + c, "result": ("PASSED", "FAILED", "ERROR")[c], "attack": blank(c),
                      "strategy": blank(c + 1), "redTeamer": blank(c + 2), "variation": blank(c + t),
                      "detectionTime": None,
                      "conversation": [{"role": blank(c + p), "content": blank(c + p + 1)} for p in range(3)]}
                     for c in range(3)]
            routes[f"{API}/models/{m}/runs?benchmarkTypeId={t}"] = [run]
            routes[f"{API}/models/{m}/runs/{run['id']}/test-cases"] = {**run, "testCases": cases}
    return routes


def runs_world(runs_per_probe: dict[int, list[tuple[int, int]]]) -> dict[str, Any]:
    """small_world()'s model and type, with probes whose runs score as given: probe id -> (passed, failed) per run,
    oldest first (one a day; run ids probe id * 100 + 1, + 2, ...). Each run's test cases are its passed and failed
    ones, without conversations. What the regression gate (`check`) is tested on."""
    runs, routes = [], small_world()
    for probe_id, counts in runs_per_probe.items():
        for index, (passed, failed) in enumerate(counts, start=1):
            run = {"id": probe_id * 100 + index, "createdAt": f"2025-03-{index:02d}T10:00:00.000Z",
                   "probeId": probe_id, "probeName": f"Probe {probe_id}", "probeCategoryId": 1000,
                   "probeCategoryName": "Jailbreak", "score": 100.0 * passed / max(passed + failed, 1),
                   "totalCount": passed + failed, "passedCount": passed, "failedCount": failed}
            results = ["PASSED"] * passed + ["FAILED"] * failed
            cases = [{"id": run["id"] * 1000 + number, "result": result, "attack": f"A-{number}",
                      "strategy": "Multi Shot", "redTeamer": "Black box", "variation": "Default language",
                      "detectionTime": None, "conversation": []} for number, result in enumerate(results)]
            runs.append(run)
            routes[f"{API}/models/1/runs/{run['id']}/test-cases"] = {**run, "testCases": cases}
    del routes[CASES]
    routes[RUNS] = runs
    return routes
