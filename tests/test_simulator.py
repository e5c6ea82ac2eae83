"""The API simulator over real HTTP: endpoints, errors, OpenAPI conformance, determinism, scales, faults, epochs."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest
import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from simulator.scales import SCALES
from simulator.server import Simulator
from simulator.world import World

API = "/api/v2/benchmarks"
SPEC = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


def client(key: str | None = "demo-key") -> requests.Session:
    session = requests.Session()
    if key is not None:
        session.headers["X-Api-Key"] = key
    return session


def openapi_for(simulator: Simulator) -> OpenAPI:
    spec = yaml.safe_load(SPEC.read_text())
    spec["servers"] = [{"url": simulator.url}]
    return OpenAPI.from_dict(spec)


def get_valid(simulator: Simulator, api: OpenAPI, path: str, **kwargs) -> requests.Response:
    """GET and validate the answer (status, headers, body) against docs/openapi.yaml."""
    response = client().get(simulator.url + API + path, timeout=10, **kwargs)
    api.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
    return response


def test_every_endpoint_answers_and_matches_the_openapi_document(simulator):
    api = openapi_for(simulator)
    world = simulator.world
    types = get_valid(simulator, api, "/types").json()
    assert types == world.types() and [t["name"] for t in types] == ["Security", "Safety"]
    assert get_valid(simulator, api, "/models").json() == world.models()
    for type_ in types:
        models = get_valid(simulator, api, "/models", params={"benchmarkTypeId": type_["id"]}).json()
        assert models == world.models(type_["id"])
        for model in models:
            details = get_valid(simulator, api, f"/models/{model['id']}", params={"benchmarkTypeId": type_["id"]})
            assert details.json() == world.model_details(model["id"], type_["id"])
            runs = get_valid(simulator, api, f"/models/{model['id']}/runs", params={"benchmarkTypeId": type_["id"]})
            assert runs.json() == world.runs(model["id"], type_["id"])
            for run in runs.json()[:3]:
                body = get_valid(simulator, api, f"/models/{model['id']}/runs/{run['id']}/test-cases").json()
                assert body == world.test_cases(model["id"], run["id"])


def test_the_validator_is_not_vacuous(simulator):
    api = openapi_for(simulator)
    response = client().get(simulator.url + API + "/types", timeout=10)
    response._content = b'[{"id": "one", "name": null}]'
    with pytest.raises(Exception, match="(?i)valid"):
        api.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))


@pytest.mark.parametrize(
    "path, key, status, code",
    [
        ("/types", None, 401, "UNAUTHORIZED"),
        ("/models", "wrong-key", 401, "UNAUTHORIZED"),
        ("/models/1/runs", "demo-key", 400, "BAD_REQUEST"),
        ("/models/1/runs?benchmarkTypeId=abc", "demo-key", 400, "BAD_REQUEST"),
        ("/models/abc", "demo-key", 400, "BAD_REQUEST"),
        ("/models/1/runs/xyz/test-cases", "demo-key", 400, "BAD_REQUEST"),
        ("/models?benchmarkTypeId=1.5", "demo-key", 400, "BAD_REQUEST"),
        ("/models/9999", "demo-key", 404, "NOT_FOUND"),
        ("/models/9999/runs?benchmarkTypeId=1", "demo-key", 404, "NOT_FOUND"),
        ("/models/1/runs?benchmarkTypeId=99", "demo-key", 404, "NOT_FOUND"),
        ("/models?benchmarkTypeId=99", "demo-key", 404, "NOT_FOUND"),
        ("/models/1/runs/999999/test-cases", "demo-key", 404, "NOT_FOUND"),
        ("/nowhere", "demo-key", 404, "NOT_FOUND"),
    ],
)
def test_errors_use_the_documented_envelope(simulator, path, key, status, code):
    response = client(key).get(simulator.url + API + path, timeout=10)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"]


def test_run_of_another_model_is_not_found(simulator):
    world = simulator.world
    (model_a, _, run), *_ = list(world.iter_runs())
    other = next(m["id"] for m in world.models() if m["id"] != model_a)
    response = client().get(f"{simulator.url}{API}/models/{other}/runs/{run['id']}/test-cases", timeout=10)
    assert response.status_code == 404


def test_non_get_is_refused(simulator):
    assert client().post(simulator.url + API + "/types", timeout=10).status_code == 405


def test_determinism():
    assert World(seed=0, scale="small").test_cases(1, 1) == World(seed=0, scale="small").test_cases(1, 1)
    assert World(seed=0, scale="small").models() == World(seed=0, scale="small").models()
    assert World(seed=1, scale="small").test_cases(1, 1) != World(seed=0, scale="small").test_cases(1, 1)
    assert World(seed=1, scale="small").models() != World(seed=0, scale="small").models()


@pytest.mark.parametrize("scale", ["tiny", "small"])
def test_counts_agree_with_the_test_cases(scale):
    world = World(scale=scale)
    counts = world.counts()
    runs = list(world.iter_runs())
    assert counts["runs"] == len(runs)
    total = 0
    for model_id, _, run in runs:
        cases = world.test_cases(model_id, run["id"])["testCases"]
        results = collections.Counter(case["result"] for case in cases)
        assert run["totalCount"] == len(cases)
        assert (run["passedCount"], run["failedCount"]) == (results["PASSED"], results["FAILED"])
        rated = run["passedCount"] + run["failedCount"]
        assert run["score"] == (round(100 * run["passedCount"] / rated, 2) if rated else 0.0)
        assert len({case["id"] for case in cases}) == len(cases)
        for case in cases:
            roles = [message["role"] for message in case["conversation"]]
            assert roles == ["user", "assistant", "user", "assistant", "user", "assistant", "user", "assistant"][
                : len(roles)
            ]
        total += len(cases)
    assert total == counts["test_cases"]


def test_scale_sizes():
    sizes = {name: World(scale=name).counts() for name in SCALES}
    assert sizes["tiny"]["test_cases"] < 1_000
    assert 5_000 <= sizes["small"]["test_cases"] <= 15_000
    assert 80_000 <= sizes["medium"]["test_cases"] <= 150_000
    assert sizes["large"]["test_cases"] >= 1_000_000


def test_large_bodies_are_generated_on_the_fly_quickly():
    world = World(scale="large")
    model_id, _, run = next(world.iter_runs())
    started = time.monotonic()
    body = world.test_cases(model_id, run["id"])
    assert len(body["testCases"]) == run["totalCount"] >= 100
    assert time.monotonic() - started < 2.0


def test_conversations_look_real():
    world = World(scale="small")
    lengths, characters = [], []
    for model_id, _, run in list(world.iter_runs())[:40]:
        for case in world.test_cases(model_id, run["id"])["testCases"]:
            lengths.append(len(case["conversation"]))
            characters.append(sum(len(m["content"]) for m in case["conversation"]))
    assert min(lengths) == 0 and max(lengths) == 8
    assert 300 < sorted(characters)[len(characters) // 2] < 5_000
    text = "".join(m["content"] for model_id, _, run in list(world.iter_runs())[:5]
                   for case in world.test_cases(model_id, run["id"])["testCases"] for m in case["conversation"])
    assert "\n" in text and any(ord(ch) > 0x3000 for ch in text)


def test_edge_cases_exist():
    world = World(scale="tiny")
    edges = world.edge_cases()
    runs = {run["id"]: (model_id, type_id, run) for model_id, type_id, run in world.iter_runs()}
    tie_a, tie_b = edges["tied_runs"]
    assert runs[tie_a][2]["createdAt"] == runs[tie_b][2]["createdAt"]
    assert runs[tie_a][2]["probeId"] == runs[tie_b][2]["probeId"]
    model_id, type_id, probe_id, single = edges["single_run_probe"]
    assert [r for r in world.runs(model_id, type_id) if r["probeId"] == probe_id] == [runs[single][2]]
    error_run = runs[edges["error_only_run"]][2]
    assert error_run["passedCount"] == error_run["failedCount"] == 0 < error_run["totalCount"]
    error_model, error_type = edges["error_only_model"]
    details = world.model_details(error_model, error_type)
    assert details["passedCount"] == details["failedCount"] == 0 < details["totalCount"]
    cases = {case["id"]: case for model_id, _, run in world.iter_runs()
             for case in world.test_cases(model_id, run["id"])["testCases"]}
    assert cases[edges["empty_conversation_case"]]["conversation"] == []
    assert max(len(m["content"]) for m in cases[edges["long_message_case"]]["conversation"]) >= 50_000
    assert any("\x07" in m["content"] for case in cases.values() for m in case["conversation"])
    assert any("Users' data; PII" in model["scores"] for model in world.models())


def test_fault_switches(start_simulator):
    sim = start_simulator("tiny", fail_rate=1.0, retry_after=2)
    session = client()
    seen = collections.Counter()
    for _ in range(60):
        try:
            response = session.get(sim.url + API + "/types", timeout=5)
        except requests.ConnectionError:
            seen["drop"] += 1
            session = client()
            continue
        seen[response.status_code] += 1
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "2"
        assert response.json()["error"]["code"]
    assert set(seen) == {500, 503, 429, "drop"}, seen
    sim.set_fail_rate(0.0)
    assert all(session.get(sim.url + API + "/types", timeout=5).status_code == 200 for _ in range(20))


def test_latency(start_simulator):
    sim = start_simulator("tiny", latency_ms=150)
    started = time.monotonic()
    client().get(sim.url + API + "/types", timeout=5)
    assert time.monotonic() - started >= 0.15


def test_world_changes_between_epochs(start_simulator):
    sim = start_simulator("small")
    before = World(scale="small", epoch=0)
    after = World(scale="small", epoch=1)
    old = {run["id"]: run for _, _, run in before.iter_runs()}
    new = {run["id"]: run for _, _, run in after.iter_runs()}
    added = set(new) - set(old)
    removed = set(old) - set(new)
    rescored = {i for i in set(old) & set(new) if old[i]["totalCount"] != new[i]["totalCount"]}
    assert added and removed and rescored
    assert min(new[i]["createdAt"] for i in added) > max(run["createdAt"] for run in old.values())
    removed_model = before.edge_cases()["removed_model_at_epoch_1"]

    response = requests.post(sim.url + "/_sim/epoch", params={"n": 1}, timeout=5)
    assert response.json() == {"epoch": 1}
    session = client()
    assert session.get(f"{sim.url}{API}/models/{removed_model}", timeout=5).status_code == 404
    assert removed_model not in [m["id"] for m in session.get(f"{sim.url}{API}/models", timeout=5).json()]
    a_removed = next(iter(removed))
    model_of = {run["id"]: model_id for model_id, _, run in before.iter_runs()}
    gone = session.get(f"{sim.url}{API}/models/{model_of[a_removed]}/runs/{a_removed}/test-cases", timeout=5)
    assert gone.status_code == 404
    a_rescored = next(iter(rescored))
    body = session.get(f"{sim.url}{API}/models/{model_of[a_rescored]}/runs/{a_rescored}/test-cases", timeout=5).json()
    assert body["totalCount"] == len(body["testCases"]) == new[a_rescored]["totalCount"]
    old_cases = before.test_cases(model_of[a_rescored], a_rescored)["testCases"]
    assert [c["result"] for c in body["testCases"]] != [c["result"] for c in old_cases]
    dates_before = {m["id"]: m["benchmarkDate"] for m in before.models()}
    assert any(m["benchmarkDate"] > dates_before[m["id"]] for m in after.models())


def test_request_log_and_admin_api(simulator):
    client().get(simulator.url + API + "/types", timeout=5)
    log = requests.get(simulator.url + "/_sim/requests", timeout=5).json()
    assert [(r["path"], r["status"]) for r in log] == [(API + "/types", 200)]
    requests.delete(simulator.url + "/_sim/requests", timeout=5)
    assert simulator.requests == []
    assert requests.get(simulator.url + "/_sim/health", timeout=5).json()["status"] == "ok"


def test_binds_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        Simulator(host="0.0.0.0")


def test_simulate_command_serves_until_stopped(tmp_path):
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "pipelines", "simulate", "--scale", "small", "--port", "0"],
                               stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = process.stdout.readline()
        assert line.startswith("Simulator listening on http://127.0.0.1:") and "9,551 test cases" in line
        url = line.split("listening on ")[1].split()[0]
        assert client().get(url + API + "/types", timeout=10).json() == World(scale="small").types()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "Simulator stopped." in process.stdout.read()
