"""cartctl as an operator runs it, a process of its own, against the sandbox's control API: an environment's whole
life, from reading it through provision, build, deploy, a broken deploy that ECS rolls back, a cancelled deploy,
keep-alive and the operations' history, to its destroy. No AWS credentials: against a loopback endpoint cartctl
sends its requests unsigned. The tests run in order on one sandbox, each taking the environment where the one
before left it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.cli.exitcodes import ExitCode
from controlplane.sandbox.server import Sandbox
from tests.cli.conftest import Ran
from tests.integration.inprocess import running_sandbox

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def operator_env(endpoint: str) -> dict[str, str]:
    """An operator's shell with no AWS credentials at all (nor an instance role to ask for them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CARTCTL_"))}
    env.update(
        {
            "CARTCTL_ENDPOINT": endpoint,
            "CARTCTL_POLL_INTERVAL": "0.2",
            "AWS_CONFIG_FILE": "/nonexistent/config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            "AWS_EC2_METADATA_DISABLED": "true",
            "TZ": "UTC",
            "NO_COLOR": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


class Cartctl:
    def __init__(self, box: Sandbox) -> None:
        self.env = operator_env(box.api_endpoint)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "controlplane.cli", *args]

    def __call__(self, *args: str, timeout: float = 120) -> Ran:
        done = subprocess.run(
            self.argv(*args), env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args), env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(deploy_seconds=2.5, build_seconds=1.0, drain_seconds=0.5) as box:
        yield box


@pytest.fixture(scope="module")
def cartctl(sandbox: Sandbox) -> Cartctl:
    return Cartctl(sandbox)


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    """What earlier steps of the lifecycle learnt (operation ids, revisions)."""
    return {}


def test_environments_list_show_and_settings(cartctl: Cartctl) -> None:
    # GIVEN the environments Terraform published WHEN listed THEN all three, as a table and as JSON
    listed = cartctl("environments", "list")
    assert listed.code == 0, listed.stderr
    for name, tier in (("dev", "dev"), ("staging", "staging"), ("prod", "prod")):
        assert re.search(rf"^{name}\s+{tier}\s+absent\s", listed.stdout, re.M), listed.stdout
    as_json = cartctl("environments", "list", "--json").json()
    assert sorted(e["name"] for e in as_json["environments"]) == ["dev", "prod", "staging"]
    assert as_json["next"] is None
    shown = cartctl("environments", "show", "dev")
    assert shown.code == 0 and "deploy_on_push exact:latest@cart-service-dev" in shown.text
    assert "none (never provisioned, or destroyed)" in shown.text
    dev = cartctl("environments", "show", "dev", "--json").json()
    assert dev["status"] == "absent" and dev["updated_at"].endswith("Z")
    # WHEN a setting changes at the version read THEN it is written; at a stale version, refused (20)
    changed = cartctl(
        "environments", "settings", "dev", "--desired-count", "2", "--if-match", str(dev["version"]), "--json"
    )
    assert changed.code == 0, changed.stderr
    assert changed.json()["settings"]["desired_count"] == 2 and changed.json()["version"] == dev["version"] + 1
    stale = cartctl("environments", "settings", "dev", "--no-nightly-teardown", "--if-match", str(dev["version"]))
    assert stale.code == ExitCode.REJECTED and "409 VersionConflict" in stale.stderr
    human = cartctl("environments", "settings", "dev", "--tier-default-count", "--no-protected")
    assert human.code == 0 and "Updated dev." in human.stdout and "desired_count tier default" in human.text


def test_provision_wait_builds_the_first_image_and_succeeds(cartctl: Cartctl) -> None:
    # GIVEN dev has no image yet WHEN provisioned and followed
    ran = cartctl("provision", "dev", "--wait")
    # THEN it succeeds (0): prepare, build, rollout, health check, finish on the Gantt
    assert ran.code == ExitCode.OK, ran.stdout + ran.stderr
    assert "Status SUCCEEDED" in ran.text
    assert [line.split()[1] for line in ran.stdout.splitlines() if "│" in line] == [
        "prepare", "build", "rollout", "health_check", "finish",
    ]  # fmt: skip
    assert "step build RUNNING" in ran.stderr and "step health_check SUCCEEDED" in ran.stderr  # progress: stderr
    assert cartctl("environments", "show", "dev", "--json").json()["status"] == "ready"


def test_build_wait_pushes_the_image(cartctl: Cartctl, seen: dict[str, Any]) -> None:
    ran = cartctl("build", "dev", "--source-version", "v1.4.2", "--wait", "--json")
    assert ran.code == ExitCode.OK, ran.stderr
    op = ran.json()  # --json: only the final operation on stdout
    assert op["status"] == "SUCCEEDED" and op["result"]["image_tag"] == "v1.4.2"
    assert re.search(r"build phase \S+ IN_PROGRESS", ran.stderr)
    seen["digest"] = op["result"]["image_digest"]


def test_deploy_tag_wait_succeeds_with_the_rollout_counts(cartctl: Cartctl, seen: dict[str, Any]) -> None:
    ran = cartctl("deploy", "dev", "--tag", "v1.4.2", "--wait")
    assert ran.code == ExitCode.OK, ran.stdout + ran.stderr
    assert "Status SUCCEEDED" in ran.text and f"image_digest={seen['digest']}" in ran.text
    assert re.search(r"Rollout\s+\S+\s+running [01]/1  pending [01]  failed 0\s.*\(last seen\)", ran.stdout)
    assert re.search(r"rollout IN_PROGRESS running 0/1 pending 1 failed 0", ran.stderr)
    dev = cartctl("environments", "show", "dev", "--json").json()
    assert dev["intended"]["image_tag"] == "v1.4.2" and dev["service"]["image_digest"] == seen["digest"]
    seen["revision"] = int(dev["service"]["task_definition_arn"].rsplit(":", 1)[1])


def test_a_broken_image_is_rolled_back_and_the_deploy_fails(cartctl: Cartctl, seen: dict[str, Any]) -> None:
    # GIVEN an image that cannot start, built and pushed as broken-1
    assert cartctl("build", "dev", "--source-version", "broken-1", "--wait").code == ExitCode.OK
    # WHEN it is deployed and followed
    ran = cartctl("deploy", "dev", "--tag", "broken-1", "--wait")
    # THEN the circuit breaker rolled back: FAILED (10), naming the revision served again and why tasks stopped
    assert ran.code == ExitCode.FAILED, ran.stdout + ran.stderr
    text = ran.text
    assert "Status FAILED" in text and "rollout DeploymentFailed" in text
    assert f"Rolled back to cart-service-dev:{seen['revision']} (revision {seen['revision']})" in text
    assert f"image {seen['digest']}" in text
    assert text.count("exit 1 Essential container in task exited") >= 1
    assert "deployment failed: tasks failed to start." in text and "/cart-service/dev/app" in text
    dev = cartctl("environments", "show", "dev", "--json").json()
    assert dev["status"] == "ready" and dev["service"]["image_digest"] == seen["digest"]  # still serving v1.4.2


def running_operation(cartctl: Cartctl, env: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ops = cartctl("operations", "list", env, "--status", "RUNNING", "--json").json()["operations"]
        if ops:
            return dict(ops[0])
        time.sleep(0.2)
    raise AssertionError("no operation started")


def test_a_running_deploy_cancelled_ends_aborted(cartctl: Cartctl, seen: dict[str, Any]) -> None:
    # GIVEN a deploy being followed
    follower = cartctl.start("deploy", "dev", "--wait")
    try:
        op = running_operation(cartctl, "dev")
        # WHEN it is cancelled from another shell
        cancelled = cartctl("cancel", op["id"])
        assert cancelled.code == ExitCode.OK, cancelled.stderr
        assert f"Cancel requested for {op['id']} (rollout: rollback)" in cancelled.stdout
        out, err = follower.communicate(timeout=120)
    finally:
        follower.kill()
    # THEN the follower ends with ABORTED's code (11): the rollout was rolled back by the cancel step
    assert follower.returncode == ExitCode.ABORTED, out + err
    assert "Status ABORTED" in " ".join(out.split()) and "cancel requested (rollout rollback)" in err
    assert [line.split()[1] for line in out.splitlines() if "│" in line] == ["rollout", "cancel", "finish"]
    again = cartctl("follow", op["id"], "--json")
    assert again.code == ExitCode.ABORTED and again.json()["error"]["code"] == "Cancelled"
    seen["cancelled"] = op["id"]


def test_operations_list_filters_and_pages(cartctl: Cartctl, seen: dict[str, Any]) -> None:
    every = cartctl("operations", "list", "dev", "--all", "--json").json()
    kinds = [o["kind"] for o in every["operations"]]
    assert kinds == ["deploy", "deploy", "build", "deploy", "build", "provision"] and every["next"] is None
    failed = cartctl("operations", "list", "dev", "--status", "failed", "--kind", "deploy", "--json").json()
    assert [o["params"] for o in failed["operations"]] == [{"image_tag": "broken-1"}]
    aborted = cartctl("operations", "list", "dev", "--status", "ABORTED")
    assert aborted.code == 0 and seen["cancelled"] in aborted.stdout and "ABORTED" in aborted.stdout
    two = cartctl("operations", "list", "dev", "--limit", "2", "--json").json()
    assert len(two["operations"]) == 2 and two["next"]  # the API's cursor, as it is
    table = cartctl("operations", "list", "dev", "--limit", "2")
    assert table.code == 0 and "(more: --limit N or --all)" in table.stdout
    shown = cartctl("operations", "show", failed["operations"][0]["id"])
    assert shown.code == ExitCode.OK and "DeploymentFailed" in shown.stdout  # reading a failure succeeds


def test_keep_alive_set_and_clear(cartctl: Cartctl) -> None:
    kept = cartctl("keep-alive", "set", "dev", "--for", "3h", "--json")
    assert kept.code == 0, kept.stderr
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", kept.json()["keep_alive_until"])
    assert (
        cartctl("environments", "show", "dev", "--json").json()["keep_alive_until"] == kept.json()["keep_alive_until"]
    )
    too_long = cartctl("keep-alive", "set", "dev", "--for", "30d")
    assert too_long.code == ExitCode.REJECTED and "14 days" in too_long.stderr
    cleared = cartctl("keep-alive", "clear", "dev", "--json")
    assert cleared.code == 0 and cleared.json() == {"environment": "dev", "keep_alive_until": None}
    assert cartctl("keep-alive", "clear", "dev").code == ExitCode.REJECTED  # none left: 404


def test_destroy_dry_run_then_destroy(cartctl: Cartctl) -> None:
    # WHEN a destroy is planned THEN the ordered plan, and nothing changes
    plan = cartctl("destroy", "dev", "--dry-run")
    assert plan.code == 0, plan.stderr
    assert "Destroy plan for dev (dry run: nothing was changed)" in plan.stdout
    for step in ("prepare", "drain", "delete_service", "sweep", "finish"):
        assert re.search(rf"^\s*\d\s+{step}\s", plan.stdout, re.M), step
    as_json = cartctl("destroy", "dev", "--dry-run", "--json").json()
    assert as_json["dry_run"] is True and as_json["requires_confirmation"] is False
    assert cartctl("environments", "show", "dev", "--json").json()["status"] == "ready"
    # staging needs its name typed
    refused = cartctl("destroy", "staging")
    assert refused.code == ExitCode.REJECTED and "ConfirmationRequired" in refused.stderr
    # WHEN dev is destroyed and followed THEN it succeeds and dev is destroyed
    done = cartctl("destroy", "dev", "--wait")
    assert done.code == ExitCode.OK, done.stdout + done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines() if "│" in line] == [
        "prepare", "drain", "delete_service", "sweep", "finish",
    ]  # fmt: skip
    dev = cartctl("environments", "show", "dev", "--json").json()
    assert dev["status"] == "destroyed" and dev["service"]["status"] == "INACTIVE"


def test_rejections_and_an_unreachable_api_have_their_exit_codes(cartctl: Cartctl) -> None:
    missing = cartctl("deploy", "nowhere", "--tag", "v1")
    assert missing.code == ExitCode.REJECTED and "404 NotFound" in missing.stderr
    body = cartctl("environments", "show", "nowhere", "--json")
    assert body.code == ExitCode.REJECTED and body.json()["error"]["code"] == "NotFound"
    invalid = cartctl("deploy", "dev")  # dev is destroyed: there is nothing to redeploy
    assert invalid.code == ExitCode.REJECTED and "409 Conflict" in invalid.stderr
    down = cartctl("--endpoint", "http://127.0.0.1:9", "environments", "list")
    assert down.code == ExitCode.UNREACHABLE and "connection refused" in down.stderr
