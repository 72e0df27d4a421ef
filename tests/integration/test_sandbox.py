"""The sandbox as a user runs it: `python -m controlplane sandbox` in its own process, reached over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from controlplane.sandbox.client import ApiClient
from controlplane.sandbox.emulation import manifest_json
from controlplane.sandbox.server import free_port

ROOT = Path(__file__).resolve().parents[2]


class Running:
    def __init__(self, proc: subprocess.Popen[str], api_port: int, aws_port: int) -> None:
        self.proc, self.api_port, self.aws_port = proc, api_port, aws_port
        self.api = ApiClient(f"http://127.0.0.1:{api_port}")
        self.aws_endpoint = f"http://127.0.0.1:{aws_port}"
        self.port_flags = ["--port", str(api_port), "--aws-port", str(aws_port)]

    def client(self, service: str) -> object:
        return boto3.client(service, region_name="eu-central-1", endpoint_url=self.aws_endpoint)

    def wait_op(self, op_id: str, timeout: float = 60) -> dict[str, object]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, op = self.api.get(f"/operations/{op_id}")
            if op["status"] != "RUNNING":
                return dict(op)
            time.sleep(0.2)
        raise AssertionError(f"{op_id} still running")


def start(api_port: int, aws_port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controlplane",
            "sandbox",
            "--port",
            str(api_port),
            "--aws-port",
            str(aws_port),
            "--deploy-seconds",
            "1",
            "--build-seconds",
            "0.5",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Running]:
    api_port, aws_port = free_port(), free_port()
    proc = start(api_port, aws_port)
    running = Running(proc, api_port, aws_port)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if running.api.get("/health")[0] == 200:
                break
        except OSError:
            pass
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("sandbox did not come up in 60s")
    yield running
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_any_client_sees_the_same_aws(sandbox: Running) -> None:
    ecs = sandbox.client("ecs")
    clusters = sorted(a.rsplit("/", 1)[1] for a in ecs.list_clusters()["clusterArns"])  # type: ignore[attr-defined]
    assert clusters == ["ecommerce-dev", "ecommerce-prod", "ecommerce-staging"]
    repos = sandbox.client("ecr").describe_repositories()["repositories"]  # type: ignore[attr-defined]
    assert {r["repositoryName"] for r in repos} == {"cart-service-dev", "cart-service-prod", "cart-service-staging"}


def aws_cli(sandbox: Running, *args: str) -> subprocess.CompletedProcess[str]:
    """The AWS CLI as a user's shell runs it: dummy credentials and their usual region."""
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed on this machine")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-central-1"}
    env.pop("AWS_REGION", None)
    out = subprocess.run(
        [aws, "--endpoint-url", sandbox.aws_endpoint, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if out.returncode != 0 and "No module named" in out.stderr:
        pytest.skip(f"the AWS CLI on this machine is broken: {out.stderr.strip()[:100]}")
    return out


def test_aws_cli_lists_services_with_the_users_usual_region(sandbox: Running) -> None:
    status, op = sandbox.api.post("/environments/dev/provision", {})
    assert status in (202, 409), op
    if status == 202:
        assert sandbox.wait_op(op["id"])["status"] == "SUCCEEDED"
    out = aws_cli(sandbox, "ecs", "list-services", "--cluster", "ecommerce-dev", "--output", "json")
    assert out.returncode == 0, out.stderr
    assert [a.rsplit("/", 1)[1] for a in json.loads(out.stdout)["serviceArns"]] == ["cart-service-dev"]


def test_aws_cli_with_endpoint_url(sandbox: Running) -> None:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed on this machine")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-central-1"}
    out = subprocess.run(
        [
            aws,
            "--endpoint-url",
            sandbox.aws_endpoint,
            "ecr",
            "describe-repositories",
            "--output",
            "text",
            "--query",
            "repositories[].repositoryName",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if out.returncode != 0 and "No module named" in out.stderr:
        pytest.skip(f"the AWS CLI on this machine is broken: {out.stderr.strip()[:100]}")
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.split()) == {"cart-service-dev", "cart-service-staging", "cart-service-prod"}


def test_twenty_concurrent_deploys_one_runs_the_rest_get_409(sandbox: Running) -> None:
    # GIVEN a provisioned dev
    status, op = sandbox.api.post("/environments/dev/provision", {})
    assert status == 202, op
    assert sandbox.wait_op(op["id"])["status"] == "SUCCEEDED"
    # WHEN 20 deploy requests arrive at once
    barrier = threading.Barrier(20)
    results: list[tuple[int, dict[str, object]]] = []
    lock = threading.Lock()

    def fire() -> None:
        client = ApiClient(sandbox.api.base_url)
        barrier.wait()
        outcome = client.post("/environments/dev/deployments", {})
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=fire) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # THEN exactly one operation runs; the 19 others get 409 naming it
    accepted = [body for status, body in results if status == 202]
    conflicts = [body for status, body in results if status == 409]
    assert len(results) == 20 and len(accepted) == 1 and len(conflicts) == 19, [s for s, _ in results]
    winner = accepted[0]["id"]
    assert {c["error"]["running_operation"] for c in conflicts} == {winner}  # type: ignore[index]
    _, ops = sandbox.api.get("/environments/dev/operations")
    assert [o["id"] for o in ops["operations"] if o["kind"] == "deploy"] == [winner]
    assert sandbox.wait_op(str(winner))["status"] == "SUCCEEDED"


def test_put_image_against_the_sandbox_redeploys_dev_within_seconds(sandbox: Running) -> None:
    # GIVEN a provisioned dev (the default policy deploys pushes of "latest")
    status, op = sandbox.api.post("/environments/dev/provision", {})
    if status == 202:
        assert sandbox.wait_op(op["id"])["status"] == "SUCCEEDED"
    manifest = manifest_json("e")
    # WHEN an image is pushed with boto3's put-image against the sandbox endpoint
    ecr = sandbox.client("ecr")
    image = ecr.put_image(  # type: ignore[attr-defined]
        repositoryName="cart-service-dev", imageManifest=manifest, imageTag="latest"
    )["image"]
    digest = image["imageId"]["imageDigest"]
    # THEN within 5 s a deploy triggered by the push is running or done, pinned to that digest
    deadline, found = time.time() + 5, None
    while time.time() < deadline and found is None:
        _, listing = sandbox.api.get("/environments/dev/operations?limit=5")
        found = next((o for o in listing["operations"] if o["trigger"] == "ecr-push"), None)
        time.sleep(0.1)
    assert found is not None and found["params"] == {"image_digest": digest}
    assert sandbox.wait_op(found["id"])["status"] == "SUCCEEDED"
    assert sandbox.api.get("/environments/dev")[1]["service"]["image_digest"] == digest


def test_aws_cli_put_image_produces_the_push_event_too(sandbox: Running) -> None:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed on this machine")
    manifest = manifest_json("c")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-central-1"}
    out = subprocess.run(
        [
            *(aws, "--endpoint-url", sandbox.aws_endpoint, "ecr", "put-image"),
            *("--repository-name", "cart-service-dev", "--image-tag", "latest"),
            *("--image-manifest", manifest, "--output", "json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if out.returncode != 0 and "No module named" in out.stderr:
        pytest.skip(f"the AWS CLI on this machine is broken: {out.stderr.strip()[:100]}")
    assert out.returncode == 0, out.stderr
    digest = json.loads(out.stdout)["image"]["imageId"]["imageDigest"]
    deadline, found = time.time() + 5, None
    while time.time() < deadline and found is None:
        _, listing = sandbox.api.get("/environments/dev/operations?limit=5")
        found = next((o for o in listing["operations"] if o["params"] == {"image_digest": digest}), None)
        time.sleep(0.1)
    assert found is not None and found["trigger"] == "ecr-push"
    assert sandbox.wait_op(found["id"])["status"] == "SUCCEEDED"


def test_fire_nightly_teardown_then_morning_restore(sandbox: Running) -> None:
    _, dev = sandbox.api.get("/environments/dev")
    assert dev["status"] == "ready"

    def fire(schedule: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "controlplane", "sandbox", "fire", schedule, *sandbox.port_flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return dict(json.loads(out.stdout))

    night = fire("nightly-teardown")
    assert [o.split("_")[1] for o in night["operations"]] == ["dev"]
    assert sandbox.wait_op(night["operations"][0])["status"] == "SUCCEEDED"
    assert sandbox.api.get("/environments/dev")[1]["status"] == "destroyed"
    morning = fire("morning-restore")
    assert sandbox.wait_op(morning["operations"][0])["status"] == "SUCCEEDED"
    _, back = sandbox.api.get("/environments/dev")
    assert back["status"] == "ready" and back["service"]["image_digest"] == dev["service"]["image_digest"]


def test_fire_takes_the_ports_given_before_the_subcommand(sandbox: Running) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "controlplane", "sandbox", *sandbox.port_flags, "fire", "teardown-reminder"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "reminded" in json.loads(out.stdout)


def test_a_second_sandbox_on_the_same_ports_says_why(sandbox: Running) -> None:
    proc = start(sandbox.api_port, sandbox.aws_port)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "already in use" in out and "--aws-port" in out


def test_sigterm_stops_it_cleanly(sandbox: Running) -> None:
    sandbox.proc.send_signal(signal.SIGTERM)
    out, _ = sandbox.proc.communicate(timeout=20)
    assert sandbox.proc.returncode == 0
    assert "stopped." in out
