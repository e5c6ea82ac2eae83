"""The simulated Benchmarks API: a real HTTP server on 127.0.0.1 (aiohttp), one handler per endpoint.

Faults (`fail_rate`), latency and world changes (`epoch`) are switches; an admin API under /_sim/ lets a test or
the performance harness drive a simulator running in another process.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from simulator.scales import get_scale
from simulator.world import World

API_PREFIX = "/api/v2/benchmarks"
ADMIN_PREFIX = "/_sim"
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
FAULTS = ("500", "503", "429", "drop")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """The API's documented error envelope."""
    return json_response({"error": {"message": message, "code": code}}, status=status, headers=headers)


class BadRequest(Exception):
    pass


def parse_id(text: str | None, name: str, *, maximum: int = INT32_MAX) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise BadRequest(f"The value '{text}' is not valid for {name}.") from None
    if not 0 <= value <= maximum:
        raise BadRequest(f"The value '{text}' is out of range for {name}.")
    return value


def optional_type_id(request: web.Request) -> int | None:
    text = request.query.get("benchmarkTypeId")
    return None if text is None else parse_id(text, "benchmarkTypeId")


class Simulator:
    """The API server. `start()` serves in a background thread; `url` is the base URL to give to clients."""

    def __init__(
        self,
        seed: int = 0,
        scale: str = "small",
        epoch: int = 0,
        api_key: str = "demo-key",
        latency_ms: float = 0.0,
        fail_rate: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_after: int = 1,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the simulator binds to loopback only, not {host}")
        get_scale(scale)
        self.seed, self.scale, self.host, self.port = seed, scale, host, port
        self.api_key = api_key
        self.latency_ms = latency_ms
        self.retry_after = retry_after
        self.world = World(seed=seed, scale=scale, epoch=epoch)
        self.set_fail_rate(fail_rate)
        self.requests: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._fault_rng = random.Random(f"faults|{seed}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ----- switches ---------------------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        self.world = World(seed=self.seed, scale=self.scale, epoch=epoch)

    def set_fail_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        self.fail_rate = rate

    def clear_requests(self) -> None:
        with self._log_lock:
            self.requests.clear()

    # ----- the app ----------------------------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._api_middleware])
        app.router.add_get(f"{API_PREFIX}/types", self.get_types)
        app.router.add_get(f"{API_PREFIX}/models", self.get_models)
        app.router.add_get(f"{API_PREFIX}/models/{{model_id}}", self.get_model)
        app.router.add_get(f"{API_PREFIX}/models/{{model_id}}/runs", self.get_runs)
        app.router.add_get(f"{API_PREFIX}/models/{{model_id}}/runs/{{run_id}}/test-cases", self.get_test_cases)
        app.router.add_get(f"{ADMIN_PREFIX}/health", self.admin_health)
        app.router.add_get(f"{ADMIN_PREFIX}/requests", self.admin_requests)
        app.router.add_delete(f"{ADMIN_PREFIX}/requests", self.admin_clear_requests)
        app.router.add_post(f"{ADMIN_PREFIX}/epoch", self.admin_epoch)
        app.router.add_post(f"{ADMIN_PREFIX}/fail-rate", self.admin_fail_rate)
        return app

    @web.middleware
    async def _api_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX + "/"):
            return await handler(request)
        response = await self._answer(request, handler)
        with self._log_lock:
            self.requests.append(
                {"method": request.method, "path": request.path, "query": request.query_string,
                 "status": response.status if response is not None else None}
            )
        if response is None:  # a dropped connection
            raise ConnectionResetError("simulated dropped connection")
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse | None:
        if request.headers.get("X-Api-Key") != self.api_key:
            return error(401, "UNAUTHORIZED", "Unauthorized: Authentication is required to access this resource.")
        if request.method != "GET":
            return error(405, "METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed.")
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        if self.fail_rate and self._fault_rng.random() < self.fail_rate:
            return self._fault(request)
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return error(404, "NOT_FOUND", f"No resource at {request.path}.")
        except web.HTTPMethodNotAllowed:
            return error(405, "METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed.")
        except BadRequest as exc:
            return error(400, "BAD_REQUEST", str(exc))

    def _fault(self, request: web.Request) -> web.Response | None:
        kind = self._fault_rng.choice(FAULTS)
        if kind == "500":
            return error(500, "INTERNAL_SERVER_ERROR", "An unexpected error occurred.")
        if kind == "503":
            return error(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")
        if kind == "429":
            return error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded.", {"Retry-After": str(self.retry_after)})
        if request.transport is not None:
            request.transport.abort()
        return None

    # ----- endpoints --------------------------------------------------------------------------------------------
    async def get_types(self, request: web.Request) -> web.Response:
        return json_response(self.world.types())

    async def get_models(self, request: web.Request) -> web.Response:
        type_id = optional_type_id(request)
        if type_id is not None and self.world.type_index(type_id) is None:
            return error(404, "NOT_FOUND", f"Benchmark type {type_id} was not found.")
        return json_response(self.world.models(type_id))

    async def get_model(self, request: web.Request) -> web.Response:
        model_id = parse_id(request.match_info["model_id"], "modelId", maximum=INT64_MAX)
        type_id = optional_type_id(request)
        if type_id is not None and self.world.type_index(type_id) is None:
            return error(404, "NOT_FOUND", f"Benchmark type {type_id} was not found.")
        details = self.world.model_details(model_id, type_id)
        if details is None:
            return error(404, "NOT_FOUND", f"Benchmark model {model_id} was not found.")
        return json_response(details)

    async def get_runs(self, request: web.Request) -> web.Response:
        model_id = parse_id(request.match_info["model_id"], "modelId", maximum=INT64_MAX)
        if "benchmarkTypeId" not in request.query:
            raise BadRequest("The benchmarkTypeId field is required.")
        type_id = optional_type_id(request)
        if self.world.type_index(type_id) is None:
            return error(404, "NOT_FOUND", f"Benchmark type {type_id} was not found.")
        runs = self.world.runs(model_id, type_id)
        if runs is None:
            return error(404, "NOT_FOUND", f"Benchmark model {model_id} was not found.")
        return json_response(runs)

    async def get_test_cases(self, request: web.Request) -> web.Response:
        model_id = parse_id(request.match_info["model_id"], "modelId", maximum=INT64_MAX)
        run_id = parse_id(request.match_info["run_id"], "probeRunId", maximum=INT64_MAX)
        body = self.world.test_cases(model_id, run_id)
        if body is None:
            return error(404, "NOT_FOUND", f"Benchmark probe run {run_id} of model {model_id} was not found.")
        return json_response(body)

    # ----- admin ------------------------------------------------------------------------------------------------
    async def admin_health(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok", "scale": self.scale, "epoch": self.world.epoch,
                              "fail_rate": self.fail_rate})

    async def admin_requests(self, request: web.Request) -> web.Response:
        with self._log_lock:
            return json_response(list(self.requests))

    async def admin_clear_requests(self, request: web.Request) -> web.Response:
        self.clear_requests()
        return json_response({"cleared": True})

    async def admin_epoch(self, request: web.Request) -> web.Response:
        try:
            self.set_epoch(int(request.query.get("n", "")))
        except ValueError:
            return error(400, "BAD_REQUEST", "n must be an integer")
        return json_response({"epoch": self.world.epoch})

    async def admin_fail_rate(self, request: web.Request) -> web.Response:
        try:
            self.set_fail_rate(float(request.query.get("rate", "")))
        except ValueError as exc:
            return error(400, "BAD_REQUEST", str(exc))
        return json_response({"fail_rate": self.fail_rate})

    # ----- lifecycle --------------------------------------------------------------------------------------------
    async def _start_site(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=512)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}"

    def start(self) -> Simulator:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start_site())
            except BaseException as exc:  # report to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="benchmarks-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(*, announce: Callable[[str], object] = print, **options: Any) -> None:
    """Serve in the foreground until Ctrl-C; prints the base URL first (for scripts: the first line).

    `options` are Simulator's: seed, scale, epoch, api_key, latency_ms, fail_rate, host, port.
    """
    simulator = Simulator(**options)

    async def main() -> None:
        await simulator._start_site()
        counts = simulator.world.counts()
        announce(
            f"Simulator listening on {simulator.url} (scale {simulator.scale}: {counts['models']} models, "
            f"{counts['runs']:,} runs, {counts['test_cases']:,} test cases; epoch {simulator.world.epoch}; "
            f"API key '{simulator.api_key}')"
        )
        await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        announce("Simulator stopped.")
