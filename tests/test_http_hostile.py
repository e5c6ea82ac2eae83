"""The HTTP layer against hostile servers (tests/hostile_http.py): the key stays with the API's origin (redirects,
proxies), every body is bounded (decompressed bytes counted), and request_timeout bounds a whole request.

Every server is a real one on 127.0.0.1; nothing reaches another address.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import zlib

import orjson
import pytest
import requests

from pipelines.api import settings
from pipelines.api.http_body import _Inflater
from pipelines.api.security import NO_PROXIES, origin_of, proxies_for, shown_url
from pipelines.errors import ApiDataError, ApiUnavailableError, ConfigError
from simulator.crafted_api import API, CASES, CraftedApi, huge_and_deep_overrides, small_world
from tests.commands import SECRET, assert_one_line_error, run_cli
from tests.hostile_http import (
    ConnectProxy,
    HostileApi,
    answer_json,
    chunked,
    drip,
    drip_headers,
    encoded,
    endless,
    gzip_bomb,
    make_private_ca,
    redirect,
    stall,
)
from tests.loads import load
from tests.snapshots import snapshot
from tests.warehouses import Warehouses

MODELS = f"{API}/models"
FAST = {"max_attempts": 1}


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory):
    """(CA certificate, server certificate, server key) of a CA no trust store knows."""
    return make_private_ca(tmp_path_factory.mktemp("private-ca"))


@pytest.fixture()
def no_proxy_environment(monkeypatch):
    """No proxy from the machine's environment, and loopback not exempted from proxies (as on a fresh host)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def clean_snapshot(tmp_path_factory, prebuilt):
    """The analytics views of a plain load of small_world(), for comparisons (tests/prebuilt.py)."""
    built = prebuilt.crafted(Warehouses("duckdb", tmp_path_factory.mktemp("clean")), "small_world", small_world())
    return prebuilt.snapshot_of(built, raw=False)


def assert_one_line(exc: BaseException, *fragments: str, absent: tuple[str, ...] = ()) -> str:
    text = str(exc)
    assert "\n" not in text and text.strip() == text
    for fragment in fragments:
        assert fragment in text, text
    for secret in (*absent, "demo-key", SECRET):
        assert secret not in text, text
    return text


# --- Redirects: the key goes to the configured origin only ---

REDIRECTED = [(MODELS, status) for status in (301, 302, 303, 307, 308)] + [(CASES, 302), (CASES, 308)]


@pytest.mark.parametrize(("path", "status"), REDIRECTED, ids=[f"{p.rsplit('/', 1)[-1]}-{s}" for p, s in REDIRECTED])
def test_a_redirect_to_another_origin_is_refused_and_the_key_stays_home(tmp_path, path, status):
    db = tmp_path / "w.duckdb"
    elsewhere = HostileApi(small_world())
    port = elsewhere.url.rsplit(":", 1)[1]
    location = f"http://intruder:hunter2@127.0.0.1:{port}{path}?token=t0psecret"
    api = HostileApi(small_world(**{path: redirect(location, status)}))
    with elsewhere, api, pytest.raises(ApiUnavailableError) as refused:
        load(db, api.url)
    assert_one_line(refused.value, f"GET {path}", f"HTTP {status}", f"http://127.0.0.1:{port}{path}?...",
                    absent=("hunter2", "intruder", "t0psecret"))
    assert elsewhere.seen == []  # the key, and the request, never reached the other server
    assert not db.exists()


def test_another_host_name_or_port_of_the_same_machine_is_another_origin(tmp_path):
    elsewhere = HostileApi(small_world())
    port = elsewhere.url.rsplit(":", 1)[1]
    api = HostileApi(small_world(**{CASES: redirect(f"http://localhost:{port}{CASES}", 307)}))
    with elsewhere, api, pytest.raises(ApiUnavailableError, match="redirect to http://localhost:"):
        load(tmp_path / "w.duckdb", api.url)
    assert elsewhere.seen == []
    assert origin_of("https://API.example:443/x") == origin_of("https://api.example/y")
    assert origin_of("https://api.example") != origin_of("http://api.example")
    assert origin_of("http://127.0.0.1:8080") != origin_of("http://localhost:8080")


def test_a_redirect_from_https_to_http_is_refused(tmp_path, private_ca, no_proxy_environment):
    ca, cert, key = private_ca
    no_proxy_environment.setenv("REQUESTS_CA_BUNDLE", str(ca))
    plain = HostileApi(small_world())
    api = HostileApi(small_world(**{MODELS: redirect(plain.url + MODELS, 301)}), tls=(cert, key))
    with plain, api, pytest.raises(ApiUnavailableError) as refused:
        load(tmp_path / "w.duckdb", api.url)
    assert_one_line(refused.value, f"redirect to {plain.url}{MODELS}", f"origin {api.url}")
    assert plain.seen == []


def test_same_origin_redirects_are_followed_and_a_loop_is_not(tmp_path, clean_snapshot):
    world = small_world()
    moved = {MODELS: redirect(f"{API}/models-moved", 301), f"{API}/models-moved": world[MODELS]}
    with HostileApi(world | moved) as api:
        moved[CASES] = redirect(f"{api.url}{CASES}-moved", 307)
        api.routes[CASES], api.routes[f"{CASES}-moved"] = moved[CASES], world[CASES]
        load(tmp_path / "w.duckdb", api.url)
        assert snapshot(tmp_path / "w.duckdb") == clean_snapshot
        keys = {path: headers.get("x-api-key") for path, headers in api.seen}
        assert keys[f"{API}/models-moved"] == keys[f"{CASES}-moved"] == "demo-key"
    looping = HostileApi(small_world(**{MODELS: redirect(MODELS, 302)}))
    with looping, pytest.raises(ApiUnavailableError, match=f"redirected more than {settings.MAX_REDIRECTS} times"):
        load(tmp_path / "loop.duckdb", looping.url)


def test_a_refused_redirect_is_one_line_and_exit_4(tmp_path):
    elsewhere = HostileApi(small_world())
    with elsewhere, HostileApi(small_world(**{CASES: redirect(elsewhere.url + CASES + "?key=" + SECRET)})) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path)
    assert_one_line_error(result, 4, f"GET {CASES}", f"redirect to {elsewhere.url}{CASES}?...")
    assert elsewhere.seen == []
    assert SECRET not in elsewhere.keys_seen()
    assert not (tmp_path / "w.duckdb").exists()


# --- Proxies and private CAs ---

def test_https_through_a_connect_proxy_with_a_private_ca(tmp_path, private_ca, no_proxy_environment,
                                                         clean_snapshot):
    ca, cert, key = private_ca
    with ConnectProxy() as proxy, HostileApi(small_world(), tls=(cert, key)) as api:
        no_proxy_environment.setenv("HTTPS_PROXY", proxy.url)
        no_proxy_environment.setenv("REQUESTS_CA_BUNDLE", str(ca))
        load(tmp_path / "w.duckdb", api.url)
    assert proxy.tunnels and set(proxy.tunnels) == {api.url.removeprefix("https://")}
    assert proxy.forwarded == []
    assert snapshot(tmp_path / "w.duckdb") == clean_snapshot


def test_the_ca_bundle_setting_verifies_a_private_ca_and_nothing_else_does(tmp_path, private_ca,
                                                                           no_proxy_environment, clean_snapshot):
    ca, cert, key = private_ca
    with HostileApi(small_world(), tls=(cert, key)) as api:
        started = time.monotonic()
        with pytest.raises(ApiUnavailableError) as untrusted:
            load(tmp_path / "untrusted.duckdb", api.url)
        assert time.monotonic() - started < 10  # a certificate that does not verify is not retried for minutes
        assert api.seen == []
        load(tmp_path / "w.duckdb", api.url, source_options={"ca_bundle": str(ca)})
    assert_one_line(untrusted.value, "TLS", "sources.benchmarks.ca_bundle", "REQUESTS_CA_BUNDLE")
    assert snapshot(tmp_path / "w.duckdb") == clean_snapshot
    with pytest.raises(ConfigError, match="sources.benchmarks.ca_bundle"):
        load(tmp_path / "w.duckdb", api.url, source_options={"ca_bundle": str(tmp_path / "none.pem")})


def test_plain_http_never_goes_through_a_proxy(tmp_path, no_proxy_environment, clean_snapshot):
    """A proxy would get the key in clear: the environment's proxies are bypassed for a plain-http base URL."""
    with ConnectProxy() as proxy, HostileApi(small_world()) as api:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            no_proxy_environment.setenv(name, proxy.url)
        load(tmp_path / "w.duckdb", api.url)
    assert proxy.forwarded == [] and proxy.tunnels == []
    assert snapshot(tmp_path / "w.duckdb") == clean_snapshot
    # The same for a proxy on another host (checked without connecting: what requests would use).
    no_proxy_environment.setenv("HTTP_PROXY", "http://proxy.example:3128")
    no_proxy_environment.setenv("ALL_PROXY", "http://proxy.example:3128")
    session = requests.Session()  # Session.request merges as below (`proxies or {}` first)
    chosen = proxies_for(api.url)
    assert chosen == NO_PROXIES
    assert session.merge_environment_settings(api.url, chosen, None, True, None)["proxies"] == {}
    https = "https://api.example"
    through = session.merge_environment_settings(https, proxies_for(https) or {}, None, True, None)["proxies"]
    assert through["https"] == proxy.url  # https: the environment's proxies apply (a CONNECT tunnel)


def test_allow_insecure_http_lets_the_environment_proxy_plain_http(tmp_path, no_proxy_environment):
    with ConnectProxy() as proxy, HostileApi(small_world()) as api:
        no_proxy_environment.setenv("HTTP_PROXY", proxy.url)
        with pytest.raises(ApiUnavailableError):  # the test proxy answers 502 to plain-http forwarding
            load(tmp_path / "w.duckdb", api.url, allow_insecure_http=True, source_options=FAST)
    assert [line.split(" ")[1] for line, _ in proxy.forwarded] == [api.url + f"{API}/types"]


# --- Bounded reads ---

# The load's own peak: VmHWM belongs to this program's memory. getrusage's ru_maxrss would not do: Linux carries the
# forking parent's peak (pytest's, nearly 1 GB late in the suite) across exec into the child's.
PEAK_RSS = """
import re, runpy, sys
sys.argv = ["benchmarks-etl", *sys.argv[1:]]
try:
    runpy.run_module("pipelines", run_name="__main__")
finally:
    status = open("/proc/self/status").read()
    print("peak-rss-kib", re.search(r"VmHWM:\\s+(\\d+)", status).group(1), file=sys.stderr)
"""


def test_a_gzip_bomb_stops_at_the_cap_in_bounded_memory(tmp_path):
    inflated_mib = 1536
    bomb = gzip_bomb(inflated_mib)
    assert len(bomb) < 4 * 2**20
    with HostileApi(small_world(**{CASES: encoded(bomb)})) as api:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
        environment.update({"SOURCES__BENCHMARKS__API_KEY": "demo-key", "SOURCES__BENCHMARKS__MAX_BODY_MIB": "8"})
        result = subprocess.run([sys.executable, "-c", PEAK_RSS, "load", "--db", str(tmp_path / "w.duckdb"),
                                 "--base-url", api.url], cwd=tmp_path, env=environment, capture_output=True,
                                text=True, timeout=120)
    *rest, peak_line = result.stderr.strip().splitlines()
    peak_mib = int(peak_line.split()[-1]) / 1024
    result.stderr = "\n".join(rest)
    assert_one_line_error(result, 5, f"GET {CASES}", "sources.benchmarks.max_body_mib = 8 MiB", "decompressed")
    print(f"peak RSS {peak_mib:.0f} MiB")
    assert peak_mib < inflated_mib / 4, f"peak RSS {peak_mib:.0f} MiB"
    assert not (tmp_path / "w.duckdb").exists()


def _padded_list(mib: float) -> bytes:
    return orjson.dumps([{"id": 1, "name": "Security", "description": " " * int(mib * 2**20)}])


OVER_THE_CAP = [
    pytest.param({f"{API}/types": (200, _padded_list(3), None)}, "Content-Length", id="list-with-length"),
    pytest.param({MODELS: chunked([b"[", *[b" " * 2**16] * 48, b"]"])}, "more than that", id="list-chunked"),
    pytest.param({CASES: chunked(endless(b" " * 2**16))}, "more than that", id="test-cases-endless"),
    pytest.param({CASES: encoded(gzip.compress(b" " * 3 * 2**20))}, "once decompressed", id="test-cases-gzip"),
]


@pytest.mark.parametrize(("overrides", "how"), OVER_THE_CAP)
def test_a_body_past_the_cap_is_refused_and_nothing_is_written(crafted_file, overrides, how):
    db = crafted_file.db  # small_world() as a load makes it
    before = snapshot(db)
    with HostileApi(small_world(**overrides)) as api, pytest.raises(ApiDataError) as refused:
        load(db, api.url, full_refresh=True, source_options={"max_body_mib": 1})
    endpoint = next(iter(overrides))
    assert_one_line(refused.value, f"GET {endpoint}", "sources.benchmarks.max_body_mib = 1 MiB", how)
    assert snapshot(db) == before


def test_bodies_under_the_cap_load_exactly_gzip_or_not(tmp_path):
    overrides, *_ = huge_and_deep_overrides()
    with CraftedApi(small_world(**overrides)) as plain:
        load(tmp_path / "plain.duckdb", plain.url)
    with HostileApi(small_world(**overrides), gzip_all=True) as api:
        load(tmp_path / "gzip.duckdb", api.url, source_options={"max_body_mib": 8})
    assert snapshot(tmp_path / "gzip.duckdb") == snapshot(tmp_path / "plain.duckdb")
    with pytest.raises(ConfigError, match="max_body_mib"):
        load(tmp_path / "gzip.duckdb", api.url, source_options={"max_body_mib": 0})


@pytest.mark.parametrize("answer", [
    chunked(endless(b"\x1b[31mendless error " * 4096), status=500, content_type="text/plain"),
    answer_json(503, {"error": {"message": "m" * 10**6, "code": "X"}}),
], ids=["endless-body", "huge-envelope"])
def test_error_bodies_are_read_bounded(tmp_path, answer):
    with HostileApi(small_world(**{MODELS: answer})) as api:
        started = time.monotonic()
        with pytest.raises(ApiUnavailableError) as failed:
            load(tmp_path / "w.duckdb", api.url, source_options=FAST)
    assert time.monotonic() - started < 30  # the endless body is not read to its end (there is none)
    text = assert_one_line(failed.value, f"GET {MODELS}")
    assert len(text) < 200 + settings.ERROR_MESSAGE_MAX_CHARS


# --- Deadlines: request_timeout bounds the whole request ---

SLOW = {"request_timeout": 1, "max_attempts": 2, "backoff_max": 0.1}


@pytest.mark.parametrize("slow", [drip, stall, drip_headers],
                         ids=["body-one-byte-per-0.2s", "headers-then-stall", "headers-one-byte-per-0.2s"])
def test_a_slow_body_fails_at_request_timeout_and_is_retried(tmp_path, slow):
    body = orjson.dumps(small_world()[CASES])
    answer = slow(body) if slow is stall else slow(body, 0.2)
    with HostileApi(small_world(**{CASES: answer})) as api:
        started = time.monotonic()
        with pytest.raises(ApiUnavailableError) as timed_out:
            load(tmp_path / "w.duckdb", api.url, source_options=SLOW)
        elapsed = time.monotonic() - started
    assert_one_line(timed_out.value, f"GET {CASES}", "request_timeout = 1 s", "after 2 attempts")
    assert [path for path, _ in api.seen].count(CASES) == 2
    assert 2 <= elapsed < 15  # 2 attempts of 1 s each, the lists, and a loaded machine's slack
    assert not (tmp_path / "w.duckdb").exists()


def test_a_slow_body_is_one_line_and_exit_4(tmp_path):
    with HostileApi(small_world(**{MODELS: drip(orjson.dumps(small_world()[MODELS]), 0.1)})) as api:
        started = time.monotonic()
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path,
                         env={"SOURCES__BENCHMARKS__REQUEST_TIMEOUT": "1", "SOURCES__BENCHMARKS__MAX_ATTEMPTS": "2",
                              "SOURCES__BENCHMARKS__BACKOFF_MAX": "0.1"})
    assert_one_line_error(result, 4, f"GET {MODELS}", "request_timeout")
    assert time.monotonic() - started < 30


def test_error_urls_are_shown_without_secrets():
    assert shown_url("https://u:p@h.example:8443/a b\x1b[0m?token=x#f") == "https://h.example:8443/a%20b%1B%5B0m?..."
    assert len(shown_url("http://h/" + "x" * 500)) == 120


def test_inflating_is_exact_and_bounded_whatever_the_chunks():
    """The body's inflater (pipelines/api/http_body.py): any chunking of gzip (one member or several) or zlib
    data gives the exact body, and one call never returns more than room + 1 bytes however much a chunk would inflate
    to: memory is bounded by the cap, not by how much compressed data a read happened to bring."""
    body = b'{"id": 10, "testCases": []}' + b" hello" * 5000
    streams = [gzip.compress(body), gzip.compress(body[:7000]) + gzip.compress(body[7000:]), zlib.compress(body)]
    for stream in streams:
        for size in (1, 7, 4096, len(stream)):
            inflate, out = _Inflater(), b""
            for start in range(0, len(stream), size):
                out += inflate(stream[start:start + size], 10**7)
            out += inflate(b"", 10**7) + inflate(b"", 10**7)
            assert out == body
    bomb = gzip.compress(b" " * 2**26)  # 64 MiB of blanks in one chunk of about 65 KB
    assert len(_Inflater()(bomb, 1000)) == 1001
