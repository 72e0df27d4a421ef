"""cartctl against a control API (the scripted fake by default; CARTCTL_TEST_ENDPOINT for a real one): exit codes,
what is printed where, and --json output that parses."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import ROOT, ControlApi, Ran, cartctl_argv, subprocess_env
from tests.cli.fakeapi import FakeControlApi


def flat(text: str) -> str:
    return " ".join(text.split())


# -- operations that end -----------------------------------------------------------------------------------------
def test_deploy_wait_succeeds_with_progress_on_stderr_and_the_summary_on_stdout(cartctl: Any) -> None:
    ran: Ran = cartctl("deploy", "dev", "--tag", "v1.4.2", "--wait")
    assert ran.code == 0, ran.stderr
    assert "SUCCEEDED" in ran.stdout and "Steps" in ran.stdout
    for step in ("rollout", "finish"):
        assert re.search(rf"✓ {step} +│", ran.stdout)  # the Gantt
    assert "└" in ran.stdout and "0s" in ran.stdout
    assert re.search(r"running (\d+)/\1 +pending 0 +failed 0", ran.stdout)  # the last rollout counts seen
    assert "step rollout RUNNING" in ran.stderr and "rollout IN_PROGRESS running" in ran.stderr
    assert (
        ran.stderr.rstrip().endswith(tuple(f"SUCCEEDED after {n}" for n in "123456789"))
        or "SUCCEEDED after" in ran.stderr
    )


def test_deploy_wait_json_prints_only_the_final_operation(cartctl_process: Any) -> None:
    ran: Ran = cartctl_process("deploy", "dev", "--tag", "v1.4.2", "--wait", "--json")
    assert ran.code == 0, ran.stderr
    op = ran.json()
    assert op["status"] == "SUCCEEDED" and op["kind"] == "deploy" and op["environment"] == "dev"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", op["created_at"])  # exact, as the API sent it
    assert "progress" not in op
    assert "step rollout" in ran.stderr  # the progress went to stderr


def test_a_circuit_breaker_rollback_fails_with_its_details(cartctl: Any) -> None:
    ran: Ran = cartctl("deploy", "dev", "--tag", "broken-1", "--wait")
    assert ran.code == 10, ran.stderr
    text = flat(ran.stdout)
    assert "FAILED" in text and "rollout DeploymentFailed" in text
    assert re.search(r"Rolled back to cart-service-dev:(\d+) \(revision \1\)", text)
    assert "exit 1 Essential container in task exited" in text
    assert "/cart-service/dev/app" in text and "console.aws.amazon.com" in text
    assert re.search(r"rollout IN_PROGRESS running 0/(\d+) pending \1 failed", ran.stderr)


def test_a_failed_build_exits_failed_with_its_phase(cartctl: Any) -> None:
    ran: Ran = cartctl("build", "dev", "--source-version", "fail-1", "--wait")
    assert ran.code == 10
    assert "failed in phase BUILD" in flat(ran.stdout)
    assert "build phase" in ran.stderr


def test_a_timed_out_deploy(cartctl: Any, fake: FakeControlApi) -> None:
    ran: Ran = cartctl("deploy", "dev", "--tag", "slow-1", "--wait")
    assert ran.code == 12
    assert "TIMED_OUT" in ran.stdout and "WaitTimeout" in ran.stdout


def test_an_operation_cancelled_while_followed_ends_aborted(control_api: ControlApi, cartctl: Any) -> None:
    follower = subprocess.Popen(
        cartctl_argv("deploy", "dev", "--tag", "v1.4.2", "--wait"),
        env=subprocess_env(control_api.url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        op_id = _wait_for_running(cartctl, "dev")
        cancelled: Ran = cartctl("cancel", op_id)
        assert cancelled.code == 0 and f"Cancel requested for {op_id}" in cancelled.stdout
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 11, err
    assert "ABORTED" in out and "Cancelled" in out and "cancel requested (rollout rollback)" in err


def test_cancel_wait_follows_to_the_end(cartctl: Any) -> None:
    started: Ran = cartctl("deploy", "dev", "--json")
    assert started.code == 0
    op_id = started.json()["id"]
    ran: Ran = cartctl("cancel", op_id, "--let-rollout-finish", "--wait", "--json")
    assert ran.code in (0, 11)  # ABORTED, or SUCCEEDED if it ended before the cancel
    assert ran.json()["id"] == op_id and ran.json()["status"] in ("ABORTED", "SUCCEEDED")


def _wait_for_running(cartctl: Any, env: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ran: Ran = cartctl("operations", "list", env, "--status", "RUNNING", "--json")
        if ran.code == 0 and ran.json()["operations"]:
            return str(ran.json()["operations"][0]["id"])
        time.sleep(0.05)
    raise AssertionError("no running operation appeared")


# -- rejected requests (4xx) ----------------------------------------------------------------------------------------
def test_an_unknown_environment_is_rejected_with_the_apis_message(cartctl: Any) -> None:
    ran: Ran = cartctl("deploy", "nowhere", "--tag", "v1")
    assert ran.code == 20
    assert "404 NotFound" in ran.stderr and "nowhere" in ran.stderr
    as_json: Ran = cartctl("environments", "show", "nowhere", "--json")
    assert as_json.code == 20 and as_json.json()["error"]["code"] == "NotFound"  # the API's body, on stdout


def test_a_second_operation_while_one_runs_names_it(cartctl: Any) -> None:
    first: Ran = cartctl("deploy", "dev", "--json")
    op_id = first.json()["id"]
    second: Ran = cartctl("deploy", "dev", "--tag", "v1.4.2")
    assert second.code == 20
    assert "409 OperationInProgress" in second.stderr and f"cartctl follow {op_id}" in second.stderr
    assert cartctl("follow", op_id).code == 0


def test_destroying_staging_needs_the_confirmation(cartctl: Any) -> None:
    ran: Ran = cartctl("destroy", "staging")
    assert ran.code == 20 and "ConfirmationRequired" in ran.stderr and "--confirm NAME" in ran.stderr
    plan: Ran = cartctl("destroy", "staging", "--dry-run")
    assert plan.code == 0 and "Needs confirmation: --confirm staging" in plan.stdout
    assert "drain" in plan.stdout and "delete_service" in plan.stdout and "Never touched" in plan.stdout
    plan_json: Ran = cartctl("destroy", "staging", "--dry-run", "--json")
    assert plan_json.json()["dry_run"] is True and plan_json.json()["steps"][0]["step"] == "prepare"
    done: Ran = cartctl("destroy", "staging", "--confirm", "staging", "--wait")
    assert done.code == 0, done.stderr


def test_an_idempotency_key_returns_the_same_operation_and_refuses_another_body(cartctl: Any) -> None:
    one: Ran = cartctl("build", "dev", "--source-version", "main", "--idempotency-key", "k-1", "--json")
    two: Ran = cartctl("build", "dev", "--source-version", "main", "--idempotency-key", "k-1", "--json")
    assert one.code == two.code == 0 and one.json()["id"] == two.json()["id"]
    other: Ran = cartctl("build", "dev", "--source-version", "other", "--idempotency-key", "k-1")
    assert other.code == 20 and "422 IdempotencyKeyReused" in other.stderr


def test_a_validation_error_from_the_api(cartctl: Any) -> None:
    ran: Ran = cartctl("environments", "settings", "dev", "--desired-count", "500")
    assert ran.code == 20 and "400 ValidationError" in ran.stderr and "desired_count" in ran.stderr


# -- auth, network, server errors ----------------------------------------------------------------------------------
def test_a_route_denied_by_iam_is_an_auth_failure_naming_the_route(
    cartctl: Any, fake: FakeControlApi, tmp_path: Any
) -> None:
    from controlplane.aws import clients

    fake.deny.append(("POST", "/environments/prod/deployments"))
    (tmp_path / "credentials").write_text("[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s\n")
    profile = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_CONFIG_FILE": str(tmp_path / "c")}
    clients._signing_sessions.clear()
    try:
        ran: Ran = cartctl("--profile", "ops", "deploy", "prod", "--tag", "v1.4.2", env=profile)
    finally:
        clients._signing_sessions.clear()
    assert "Credential=AKIDOPS/" in fake.calls("POST", "/environments/prod/deployments")[0]["headers"]["authorization"]
    assert ran.code == 21
    assert "403 AccessDeniedException: POST /environments/prod/deployments was denied" in ran.stderr
    assert "assumed-role/cart-readonly/alice is not authorized" in ran.stderr
    assert "this is an IAM problem" in ran.stderr and "signed with ops" in ran.stderr
    assert cartctl("environments", "show", "prod").code == 0  # other routes still work


def test_api_gateways_own_403_shape_and_a_401(cartctl: Any, fake: FakeControlApi) -> None:
    fake.inject("GET", "/environments/dev", 403, {"message": "The security token included in the request is expired"})
    ran: Ran = cartctl("environments", "show", "dev")
    assert ran.code == 21 and "GET /environments/dev was denied" in ran.stderr and "expired" in ran.stderr
    fake.inject("GET", "/environments/dev", 401, {"error": {"code": "Unauthorized", "message": "no"}})
    assert cartctl("environments", "show", "dev").code == 21


def test_missing_credentials_is_an_auth_failure(cartctl: Any, tmp_path: Any) -> None:
    from controlplane.aws import clients

    clients._signing_sessions.clear()
    env = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
        "AWS_SECURITY_TOKEN": "",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    try:
        # against AWS: refused before any request leaves (signing comes first)
        ran: Ran = cartctl(
            "--endpoint", "https://abc123.execute-api.eu-central-1.amazonaws.com/api", "environments", "list", env=env
        )
        # against the local sandbox (it checks no signature): without credentials the request goes unsigned
        local: Ran = cartctl("environments", "list", env=env)
    finally:
        clients._signing_sessions.clear()
    assert ran.code == 21
    assert "cannot sign the request" in ran.stderr and "no AWS credentials found" in ran.stderr
    assert local.code == 0 and "dev" in local.stdout


def test_an_unreachable_api_names_the_endpoint_and_the_cause(cartctl: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    ran: Ran = cartctl("--endpoint", f"http://127.0.0.1:{port}", "environments", "list")
    assert ran.code == 22
    assert f"cannot reach the control API at http://127.0.0.1:{port}: connection refused" in ran.stderr


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def test_a_silent_api_times_out(cartctl: Any, silent_server: str) -> None:
    ran: Ran = cartctl("--endpoint", silent_server, "--timeout", "0.5", "operations", "show", "x")
    assert ran.code == 22 and "no answer within 0.5s" in ran.stderr


def test_server_errors_and_answers_that_are_not_json(cartctl: Any, fake: FakeControlApi) -> None:
    fake.inject("GET", "/environments", 500, {"error": {"code": "InternalError", "message": "boom"}})
    ran: Ran = cartctl("environments", "list")
    assert ran.code == 23 and "500 InternalError: boom" in ran.stderr
    fake.inject("GET", "/environments/dev", 200, b"<html>proxy login</html>")
    assert cartctl("environments", "show", "dev").code == 23


def test_following_rides_out_a_503(cartctl: Any, fake: FakeControlApi) -> None:
    started: Ran = cartctl("deploy", "dev", "--json")
    fake.inject("GET", "/operations/.*", 503, {"error": {"code": "ServiceUnavailable", "message": "retry"}})
    ran: Ran = cartctl("follow", started.json()["id"])
    assert ran.code == 0 and "poll failed, retrying" in ran.stderr


def test_ctrl_c_outside_a_terminal_stops_following(control_api: ControlApi, fake: FakeControlApi) -> None:
    fake.speed = 1.0
    started = subprocess.run(
        cartctl_argv("deploy", "dev", "--json"),
        env=subprocess_env(control_api.url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    op_id = json.loads(started.stdout)["id"]
    proc = subprocess.Popen(
        cartctl_argv("follow", op_id),
        env=subprocess_env(control_api.url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    fake.wait_for(lambda: len(fake.calls("GET", f"/operations/{op_id}")) >= 2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"Operation {op_id} is still running" in err and f"cartctl follow {op_id}" in err
    assert out == ""
    assert not fake.calls("POST", f"/operations/{op_id}/cancel")


# -- reading -------------------------------------------------------------------------------------------------------
def test_environments_list_show_and_settings(cartctl: Any) -> None:
    listed: Ran = cartctl("environments", "list")
    assert listed.code == 0 and re.search(r"dev\s+dev\s+ready", listed.stdout)
    as_json: Ran = cartctl("environments", "list", "--json")
    names = [e["name"] for e in as_json.json()["environments"]]
    assert "dev" in names and as_json.json()["next"] is None
    shown: Ran = cartctl("environments", "show", "dev")
    assert shown.code == 0 and "deploy_on_push exact:latest@cart-service-dev" in shown.stdout
    version = cartctl("environments", "show", "dev", "--json").json()["version"]
    changed: Ran = cartctl(
        "environments", "settings", "dev", "--desired-count", "2", "--no-nightly-teardown",
        "--deploy-on-push", "glob:release-*@cart-service-dev", "--if-match", str(version), "--json",
    )  # fmt: skip
    assert changed.code == 0, changed.stderr
    settings = changed.json()["settings"]
    assert settings["desired_count"] == 2 and settings["nightly_teardown"] is False
    assert settings["deploy_on_push"] == {
        "match": "glob",
        "pattern": "release-*",
        "repository": "cart-service-dev",
        "quiet_seconds": 0,
    }
    stale: Ran = cartctl("environments", "settings", "dev", "--protected", "--if-match", str(version))
    assert stale.code == 20 and "VersionConflict" in stale.stderr


def test_operations_list_follows_the_cursor(cartctl: Any, fake: FakeControlApi) -> None:
    fake.max_page = 3
    for n in range(7):
        fake.add_finished("dev", "deploy", "FAILED" if n % 3 == 0 else "SUCCEEDED", ago=600 - n * 60)
    every: Ran = cartctl("operations", "list", "dev", "--all", "--json")
    assert len(every.json()["operations"]) == 7 and every.json()["next"] is None
    assert len(fake.calls("GET", "/environments/dev/operations")) == 3  # 3 + 3 + 1
    five: Ran = cartctl("operations", "list", "dev", "--limit", "5", "--json")
    assert len(five.json()["operations"]) == 5 and five.json()["next"]
    failed: Ran = cartctl("operations", "list", "dev", "--status", "failed", "--kind", "deploy")
    assert failed.code == 0 and failed.stdout.count("FAILED") == 3 and "SUCCEEDED" not in failed.stdout
    assert fake.calls("GET", "/environments/dev/operations")[-1]["query"]["status"] == "FAILED"
    assert "Injected" in failed.stdout


def test_operations_show_draws_the_summary_and_gantt(cartctl: Any) -> None:
    started: Ran = cartctl("deploy", "dev", "--tag", "broken-2", "--wait", "--json")
    op_id = started.json()["id"]
    shown: Ran = cartctl("operations", "show", op_id)
    assert shown.code == 0  # reading a failed operation succeeds
    assert "DeploymentFailed" in shown.stdout and "│" in shown.stdout and "└" in shown.stdout
    assert cartctl("operations", "show", op_id, "--json").json()["status"] == "FAILED"
    assert cartctl("follow", op_id).code == 10  # following an ended operation gives its status at once


def test_keep_alive_set_and_clear(cartctl: Any) -> None:
    ran: Ran = cartctl("keep-alive", "set", "dev", "--for", "3h", "--json")
    assert ran.code == 0, ran.stderr
    until = ran.json()["keep_alive_until"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", until)  # whole seconds, as the API writes
    human: Ran = cartctl("keep-alive", "set", "dev", "--until", until)
    assert human.code == 0 and "kept alive until" in human.stdout
    assert re.search(r"\((in 3 h|in 2 h 59 min)\): the nightly teardown skips it", human.stdout)
    assert cartctl("keep-alive", "set", "dev", "--for", "30d").code == 20  # more than 14 days: the API says no
    cleared: Ran = cartctl("keep-alive", "clear", "dev", "--json")
    assert cleared.json() == {"environment": "dev", "keep_alive_until": None}


def test_requests_carry_what_the_options_say(cartctl: Any, fake: FakeControlApi) -> None:
    assert cartctl("deploy", "dev", "--digest", "sha256:" + "ab" * 32, "--idempotency-key", "rel-9").code == 0
    post = fake.calls("POST", "/environments/dev/deployments")[-1]
    assert post["body"] == {"image_digest": "sha256:" + "ab" * 32} and post["headers"]["idempotency-key"] == "rel-9"
    assert post["headers"]["content-type"] == "application/json"
    assert post["headers"]["user-agent"].startswith("cartctl/")
    fake.wait_for(lambda: fake.running("dev") is None)
    assert cartctl("deploy", "dev").code == 0
    assert fake.calls("POST", "/environments/dev/deployments")[-1]["body"] == {}
    assert cartctl("provision", "qa-1", "--source-version", "v2").code == 0
    assert fake.calls("POST", "/environments/qa-1/provision")[-1]["body"] == {"source_version": "v2"}
    op_id = fake.running("qa-1").id  # type: ignore[union-attr]
    assert cartctl("cancel", op_id, "--let-rollout-finish").code == 0
    assert fake.calls("POST", f"/operations/{op_id}/cancel")[-1]["body"] == {"rollout": "finish"}
    assert cartctl("environments", "settings", "dev", "--no-notification-topic", "--no-deploy-on-push").code == 0
    put = fake.calls("PUT", "/environments/dev")[-1]
    assert put["body"] == {"deploy_on_push": None, "notification_topic": None}


def test_environment_names_complete_from_the_api(control_api: ControlApi) -> None:
    # GIVEN bash asks click for completions of `cartctl deploy d`
    def complete(words: str, endpoint: str) -> subprocess.CompletedProcess[str]:
        env = subprocess_env(endpoint, _CARTCTL_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD="2")
        return subprocess.run(cartctl_argv(), env=env, capture_output=True, text=True, cwd=ROOT, check=False)

    # THEN the environments the API lists that start with d; an API that does not answer completes nothing
    done = complete("cartctl deploy d", control_api.url)
    assert done.returncode == 0 and done.stdout.split() == ["plain,dev"], done.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    down = complete("cartctl deploy d", closed)
    assert down.returncode == 0 and down.stdout.strip() == ""


def test_a_push_quiet_period_goes_with_deploy_on_push(cartctl: Any, fake: FakeControlApi) -> None:
    ran: Ran = cartctl(
        "environments", "settings", "dev", "--deploy-on-push", "glob:pr-*", "--push-quiet-seconds", "60", "--json"
    )
    assert ran.code == 0, ran.stderr
    sent = fake.calls("PUT", "/environments/dev")[-1]["body"]
    assert sent == {"deploy_on_push": {"match": "glob", "pattern": "pr-*", "repository": None, "quiet_seconds": 60}}
    assert ran.json()["settings"]["deploy_on_push"]["quiet_seconds"] == 60
    assert "deploy_on_push glob:pr-*@- (quiet 60s)" in cartctl("environments", "show", "dev").stdout
    alone: Ran = cartctl("environments", "settings", "dev", "--push-quiet-seconds", "60")
    assert alone.code == 2 and "goes with --deploy-on-push" in alone.stderr
