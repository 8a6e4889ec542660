"""Operations: metrics shared across processes, JSON logs with personal data masked, the OpenAPI document."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from service.embedded_redis import free_port
from tests import procs
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent
LEAD = {"name": "Ada Lovelace", "phone": "+1 415 555 0100", "email": "ada@example.com"}


def samples(client) -> dict[tuple[str, tuple], float]:
    """Parse /metrics into {(sample name, sorted labels): value}."""
    text = client.get("/metrics").get_data(as_text=True)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_intake_outcomes_queue_and_dead_letters(client):
    client.post("/v1/leads/website", data=LEAD)
    client.post("/v1/leads/website", data=LEAD)  # a duplicate
    client.post("/v1/leads/website", data={"name": "No Phone"})
    client.post("/v1/leads/zapier", json={})  # no API key
    found = samples(client)
    received = {labels: v for (name, labels), v in found.items() if name == "leadrelay_leads_received_total"}
    assert received == {
        (("outcome", "queued"), ("source", "website")): 1.0,
        (("outcome", "duplicate"), ("source", "website")): 1.0,
        (("outcome", "rejected"), ("source", "website")): 1.0,
        (("outcome", "unauthorized"), ("source", "zapier")): 1.0,
    }
    assert found[("leadrelay_intake_seconds_count", ())] == 4.0
    assert found[("leadrelay_queue_depth", ())] == 1.0
    assert found[("leadrelay_oldest_queued_seconds", ())] >= 0.0
    assert found[("leadrelay_dead_letters", ())] == 1.0
    assert found[("leadrelay_dead_letters_created_total", (("status", "rejected"),))] == 1.0


def test_delivery_metrics_from_a_worker_process_appear_in_the_api(client, sandbox, start_worker):
    requests.post(f"{sandbox}/_sandbox/config", json={"rps_limit": 1}, timeout=5)
    start_worker(CALLBELL_MAX_RPS="1000")  # a budget above Callbell's limit, so a 429 happens
    client.post("/v1/leads/website", data=LEAD)
    wait_for(
        lambda: samples(client).get(
            ("leadrelay_delivery_attempts_total", (("outcome", "retrying"), ("status", "429")))
        )
    )
    requests.post(f"{sandbox}/_sandbox/config", json={"rps_limit": 300}, timeout=5)
    wait_for(
        lambda: samples(client).get(
            ("leadrelay_delivery_attempts_total", (("outcome", "delivered"), ("status", "200")))
        )
    )
    found = samples(client)
    assert found[("leadrelay_delivery_seconds_count", ())] == 1.0
    assert found[("leadrelay_queue_depth", ())] == 0.0


def test_openapi_document_validates_and_covers_every_route(app, client):
    document = client.get("/openapi.json").get_json()
    validate(document)
    documented = {path.replace("{", "<").replace("}", ">") for path in document["paths"]}
    for rule in app.url_map.iter_rules():
        # The console's pages are for people (documented in the README), not part of the API.
        if rule.endpoint != "static" and not rule.endpoint.startswith("console."):
            generic = rule.rule
            for name in rule.arguments:
                generic = generic.replace(f"<{name}>", "<x>")
            assert generic in {_generic(d) for d in documented}, rule.rule
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])


def _generic(path: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "<x>", path)


def test_logs_are_json_with_personal_data_masked_and_no_secrets(
    tmp_path, redis_server, sandbox, write_sources, redis
):
    secrets = {
        "CALLBELL_API_TOKEN": "callbell-token-abc123",
        "LEADRELAY_ADMIN_TOKEN": "admin-token-xyz789",
        "T_KEY": "source-key-qwerty42",
    }
    requests.post(f"{sandbox}/_sandbox/config", json={"token": secrets["CALLBELL_API_TOKEN"]}, timeout=5)
    sources = write_sources('[sources.web]\npreset = "form"\nauth = "api_key"\nsecret_env = "T_KEY"\n')
    env = {
        "REDIS_URL": redis_server.url,
        "CALLBELL_API_URL": f"{sandbox}/v1",
        "LEADRELAY_SOURCES": sources,
        **secrets,
    }
    port = free_port()
    api = procs.start(["serve", "--port", str(port), "--workers", "1"], env=env, log=tmp_path / "api.log")
    worker = procs.start(["worker"], env=env, log=tmp_path / "worker.log")
    try:
        procs.wait_http(f"http://127.0.0.1:{port}/healthz", api)
        base = f"http://127.0.0.1:{port}"
        posted = requests.post(
            f"{base}/v1/leads/web?key={secrets['T_KEY']}",
            data=LEAD,
            timeout=5,
            headers={"X-Request-ID": "req-123"},
        )
        assert posted.status_code == 202
        assert posted.headers["X-Request-ID"] == "req-123"
        requests.post(f"{base}/v1/leads/web", data=LEAD, headers={"X-Api-Key": "wrong-key-1234"}, timeout=5)
        admin = {"Authorization": f"Bearer {secrets['LEADRELAY_ADMIN_TOKEN']}"}
        wait_for(
            lambda: (
                requests.get(f"{base}/v1/leads/{posted.json()['lead_id']}", headers=admin, timeout=5).json()[
                    "status"
                ]
                == "delivered"
            )
        )
    finally:
        procs.stop(api)
        procs.stop(worker)
    api_lines = (tmp_path / "api.log").read_text().splitlines()
    worker_lines = (tmp_path / "worker.log").read_text().splitlines()
    everything = "\n".join(api_lines + worker_lines)
    for secret in secrets.values():
        assert secret not in everything
    for personal in ("4155550100", "415 555 0100", "ada@example.com", "Lovelace"):
        assert personal not in everything
    records = [json.loads(line) for line in api_lines + worker_lines if line.startswith("{")]
    request_line = next(r for r in records if r.get("request_id") == "req-123")
    assert request_line["lead_id"] == posted.json()["lead_id"]
    assert request_line["status"] == 202 and request_line["outcome"] == "queued"
    attempt = next(r for r in records if r.get("message") == "delivery attempt")
    assert attempt["identifier"] == "141******00"
    assert attempt["outcome"] == "delivered"


def compose_client() -> list[str] | None:
    """The compose command this machine has (Docker's plugin or Debian's docker-compose), or None."""
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_compose_stack_validates_from_the_example_env_file(tmp_path):
    client = compose_client()
    if client is None:
        pytest.skip("no docker compose client on this machine (.ci/run installs Debian's docker-compose)")
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    shutil.copy(deploy / ".env.example", deploy / ".env")  # what the README says to do
    command = [*client, "-f", str(deploy / "compose.yml"), "--profile", "sandbox", "config"]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    stack = yaml.safe_load(done.stdout)
    assert set(stack["services"]) == {"redis", "api", "worker", "sandbox"}
    for name in ("api", "worker"):
        service = stack["services"][name]
        assert service["environment"]["CALLBELL_API_URL"] == "http://sandbox:9090/v1"  # the profile's sandbox
        assert service["environment"]["ZAPIER_KEY"]  # the sources file's secret reaches every container
        mount = service["volumes"][0]  # long or short syntax, as the client prints it
        assert (mount["source"] if isinstance(mount, dict) else mount.split(":")[0]) == str(
            deploy / "sources.example.toml"
        )
        assert service["environment"]["LEADRELAY_SOURCES"] == "/etc/leadrelay/sources.toml"
    assert stack["services"]["worker"]["healthcheck"]["test"][-1] == "worker-health"
    assert "9090" in " ".join(stack["services"]["sandbox"]["healthcheck"]["test"])
    (deploy / ".env").write_text(
        "\n".join(
            line
            for line in (deploy / ".env.example").read_text().splitlines()
            if not line.startswith("LEADRELAY_SOURCES")
        )
    )
    missing = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert missing.returncode != 0
    assert "set LEADRELAY_SOURCES in deploy/.env" in missing.stderr + missing.stdout


def manifests() -> list[dict]:
    return [
        d for f in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())
    ]


def test_kubernetes_manifests_match_the_api_schemas():
    import kubernetes_validate

    core = [d for d in manifests() if not d["apiVersion"].startswith("keda.sh/")]  # KEDA is a CRD
    for doc in core:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    assert {d["kind"] for d in core} >= {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap"}


def test_kubernetes_manifests_hold_what_operations_need():
    docs = manifests()
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {
        ("Deployment", "leadrelay-api"),
        ("Service", "leadrelay-api"),
        ("PodDisruptionBudget", "leadrelay-api"),
        ("Deployment", "leadrelay-worker"),
        ("ScaledObject", "leadrelay-worker"),
        ("ConfigMap", "leadrelay-sources"),
        ("ConfigMap", "leadrelay-env"),
    } <= kinds
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    api = deployments["leadrelay-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    worker_pod = deployments["leadrelay-worker"]["spec"]["template"]["spec"]
    assert worker_pod["terminationGracePeriodSeconds"] > 60  # > LEADRELAY_JOB_TIMEOUT
    worker = worker_pod["containers"][0]
    assert worker["livenessProbe"]["exec"]["command"] == ["leadrelay", "worker-health"]
    for container in (api, worker):
        # Every key of the Secret reaches the container: a new source's secret needs no manifest edit.
        assert {"secretRef": {"name": "leadrelay-secrets"}} in container["envFrom"]
        assert not [e for e in container.get("env", []) if "valueFrom" in e]
    # The Redis address is written once; the pods and KEDA read it from there.
    text = "".join(f.read_text() for f in (ROOT / "deploy" / "k8s").glob("*.yaml"))
    assert text.count("leadrelay-redis:6379") == 1
    scaler = next(d for d in docs if d["kind"] == "ScaledObject")
    assert scaler["spec"]["triggers"][0]["metadata"]["addressFromEnv"] == "REDIS_ADDRESS"


def test_alert_rules_fire_for_the_problems_the_console_warns_about():
    promtool = shutil.which("promtool")
    if not promtool and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "prometheus"], capture_output=True)
        promtool = shutil.which("promtool")
    if not promtool:
        pytest.fail("the alert rule tests need promtool (Debian's prometheus package)")
    rules = ROOT / "deploy" / "prometheus"
    checked = subprocess.run(
        [promtool, "check", "rules", "alerts.yml"], cwd=rules, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"], cwd=rules, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_metrics_show_when_each_source_last_sent_a_lead(client):
    assert client.post("/v1/leads/website", data={"name": "Ada", "phone": "+14155550100"}).status_code == 202
    text = client.get("/metrics").get_data(as_text=True)
    line = next(
        x
        for x in text.splitlines()
        if x.startswith('leadrelay_last_lead_timestamp_seconds{source="website"}')
    )
    assert abs(float(line.split()[-1]) - time.time()) < 60
