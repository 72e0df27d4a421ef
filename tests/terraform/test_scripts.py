"""Fast tests of terraform/scripts: the control plane packager's post-processing and the enforced cleanup order."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys
from types import ModuleType
from typing import Any

import pytest

from .conftest import TF_DIR


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TF_DIR / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- packaging

DECLARED = {
    "runtime": "python3.11",
    "functions": {
        "api_handler": {"handler": "app.app"},
        "step_prepare": {"handler": "controlplane.entrypoints.steps.step_prepare"},
    },
}


def _chalice_like_template() -> dict[str, Any]:
    """The parts of `chalice package --pkg-format terraform` output the packager reads."""
    swagger = {
        "swagger": "2.0",
        "paths": {
            "/health": {
                "get": {
                    "x-amazon-apigateway-integration": {
                        "uri": "${aws_lambda_function.api_handler.invoke_arn}",
                        "type": "aws_proxy",
                    }
                }
            }
        },
    }
    return {
        "locals": {"chalice_api_swagger": json.dumps(swagger)},
        "resource": {
            "aws_lambda_function": {
                "api_handler": {"handler": "app.app", "runtime": "python3.11"},
                "step_prepare": {"handler": "controlplane.entrypoints.steps.step_prepare", "runtime": "python3.11"},
            },
        },
    }


def test_the_package_keeps_only_the_api_document_with_the_handler_left_to_terraform() -> None:
    pkg = _load("package_controlplane")
    document = json.loads(pkg.extract(_chalice_like_template(), DECLARED))
    uri = document["paths"]["/health"]["get"]["x-amazon-apigateway-integration"]["uri"]
    assert uri == "@@API_HANDLER_INVOKE_ARN@@"


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda t: t["resource"]["aws_lambda_function"].pop("step_prepare"), "python -m controlplane generate"),
        (lambda t: t["resource"]["aws_lambda_function"]["step_prepare"].update(handler="x.y"), "generate"),
        (
            lambda t: [f.update(runtime="python3.12") for f in t["resource"]["aws_lambda_function"].values()],
            "python3.11",
        ),
        (lambda t: t["resource"].update(aws_cloudwatch_event_rule={"r": {}}), "controlplane/deployment.py"),
        (lambda t: t["locals"].update(chalice_api_swagger='{"x": "${aws_iam_role.r.arn}"}'), "other than"),
    ],
)
def test_a_package_that_disagrees_with_the_declaration_is_refused(
    change: Any, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = _load("package_controlplane")
    template = _chalice_like_template()
    change(template)
    with pytest.raises(SystemExit):
        pkg.extract(template, DECLARED)
    assert says in capsys.readouterr().err


# ---------------------------------------------------------------- enforced cleanup


@pytest.fixture
def state_bucket(monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(
            Bucket="cart-service-tfstate-1", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        s3.put_bucket_versioning(Bucket="cart-service-tfstate-1", VersioningConfiguration={"Status": "Enabled"})
        yield s3


def _state(resources: int) -> bytes:
    return json.dumps(
        {"version": 4, "resources": [{"mode": "managed", "type": "aws_vpc", "instances": [{}]}] * resources}
    ).encode()


def test_backend_destroy_is_refused_while_an_environment_has_state(
    state_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    da = _load("destroy_all")
    calls: list[list[str]] = []
    monkeypatch.setattr(da, "terraform", lambda args, cwd, capture=False: calls.append(args) or "")
    state_bucket.put_object(Bucket="cart-service-tfstate-1", Key="environments/dev/terraform.tfstate", Body=_state(0))
    state_bucket.put_object(Bucket="cart-service-tfstate-1", Key="environments/qa/terraform.tfstate", Body=_state(3))
    with pytest.raises(SystemExit) as exc:
        da.main(
            ["--bucket", "cart-service-tfstate-1", "--region", "eu-central-1", "--only-backend", "--yes", "--no-init"]
        )
    assert exc.value.code == da.REFUSED
    assert calls == [], "nothing may be destroyed when refused"
    # the refusal is about state in the bucket: 'qa' has no directory here and still blocks it
    assert da.stacks_with_state(state_bucket, "cart-service-tfstate-1") == {"environments/qa/terraform.tfstate": 3}


def test_backend_is_destroyed_once_all_state_is_empty(state_bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    da = _load("destroy_all")
    calls: list[tuple[list[str], str]] = []
    monkeypatch.setattr(
        da, "terraform", lambda args, cwd, capture=False: calls.append((args, pathlib.Path(cwd).name)) or ""
    )
    for _ in range(2):  # two versions of the same empty state
        state_bucket.put_object(
            Bucket="cart-service-tfstate-1", Key="environments/dev/terraform.tfstate", Body=_state(0)
        )
    state_bucket.put_object(
        Bucket="cart-service-tfstate-1", Key="environments/dev/terraform.tfstate.tflock", Body=b"{}"
    )
    assert (
        da.main(
            ["--bucket", "cart-service-tfstate-1", "--region", "eu-central-1", "--only-backend", "--yes", "--no-init"]
        )
        == 0
    )
    assert calls == [(["destroy", "-auto-approve", "-input=false"], "backend")]
    versions = state_bucket.list_object_versions(Bucket="cart-service-tfstate-1")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")


def test_check_mode_reports_without_destroying(state_bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    da = _load("destroy_all")
    monkeypatch.setattr(da, "terraform", lambda *a, **k: pytest.fail("check mode must not run terraform"))
    state_bucket.put_object(Bucket="cart-service-tfstate-1", Key="controlplane/terraform.tfstate", Body=_state(2))
    assert da.main(["--bucket", "cart-service-tfstate-1", "--region", "eu-central-1", "--check"]) == da.REFUSED
    assert da.order(
        [
            "environments/prod/terraform.tfstate",
            "controlplane/terraform.tfstate",
            "environments/qa/terraform.tfstate",
            "environments/dev/terraform.tfstate",
        ]
    ) == [
        "environments/dev/terraform.tfstate",
        "environments/qa/terraform.tfstate",
        "environments/prod/terraform.tfstate",
        "controlplane/terraform.tfstate",
    ]


def test_roots_are_initialised_with_the_state_key(state_bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """destroy_all initialises each root with kms_key_id: the state bucket refuses state written without it."""
    da = _load("destroy_all")
    calls: list[list[str]] = []
    monkeypatch.setattr(da, "terraform", lambda args, cwd, capture=False: calls.append(args) or "")
    state_bucket.put_object(Bucket="cart-service-tfstate-1", Key="environments/dev/terraform.tfstate", Body=_state(2))
    key = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    with pytest.raises(SystemExit) as exc:  # the fake terraform destroys nothing, so the backend stays: refused
        da.main(["--bucket", "cart-service-tfstate-1", "--region", "eu-central-1", "--kms-key-id", key, "--yes"])
    assert exc.value.code == da.REFUSED
    init = next(c for c in calls if c[0] == "init")
    assert f"-backend-config=kms_key_id={key}" in init and "-backend-config=region=eu-central-1" in init
    assert "-backend-config=key=environments/dev/terraform.tfstate" in init
    assert ["destroy", "-auto-approve", "-input=false"] in calls


# ---------------------------------------------------------------- the full teardown, through the control plane


class FakeControlPlane:
    """The control plane's API on loopback: destroy starts an operation that runs for one poll, then ends with
    ``outcome`` and deletes the environment's ECS service (as the real destroy does)."""

    def __init__(self, ecs: Any, outcome: str = "SUCCEEDED", known: tuple[str, ...] = ("dev", "prod")) -> None:
        import http.server
        import threading

        self.ecs, self.outcome, self.known = ecs, outcome, known
        self.requests: list[tuple[str, str, Any, bool]] = []
        self.polls: dict[str, int] = {}
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                signed = self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")
                fake.requests.append(("POST", self.path, body, signed))
                env = self.path.split("/")[3]
                if env not in fake.known:
                    return self._answer(404, {"error": {"code": "NotFound", "message": env}})
                return self._answer(202, {"id": f"destroy_{env}_1", "status": "RUNNING"})

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path, None, True))
                op = self.path.rsplit("/", 1)[-1]
                fake.polls[op] = fake.polls.get(op, 0) + 1
                if fake.polls[op] < 2:
                    return self._answer(200, {"id": op, "status": "RUNNING"})
                env = op.split("_")[1]
                if fake.outcome == "SUCCEEDED":
                    fake.ecs.delete_service(cluster=f"ecommerce-{env}", service=f"cart-service-{env}", force=True)
                return self._answer(200, {"id": op, "status": fake.outcome, "error": None})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _live_service(env: str) -> Any:
    import boto3

    ecs = boto3.client("ecs", region_name="eu-central-1")
    ecs.create_cluster(clusterName=f"ecommerce-{env}")
    ecs.register_task_definition(
        family=f"cart-service-{env}", containerDefinitions=[{"name": "c", "image": "i", "memory": 512}]
    )
    ecs.create_service(
        cluster=f"ecommerce-{env}",
        serviceName=f"cart-service-{env}",
        taskDefinition=f"cart-service-{env}",
        desiredCount=1,
    )
    return ecs


def _fake_terraform(
    da: ModuleType, monkeypatch: pytest.MonkeyPatch, s3: Any, events: list[str], api_url: str = ""
) -> None:
    def terraform(args: list[str], cwd: pathlib.Path, capture: bool = False) -> str:
        root = (
            "/".join(pathlib.Path(cwd).parts[-2:])
            if "environments" in pathlib.Path(cwd).parts
            else pathlib.Path(cwd).name
        )
        if args[0] == "output":
            return json.dumps({"api_url": {"value": api_url}} if root == "controlplane" and api_url else {})
        if args[0] == "destroy":
            events.append(f"terraform destroy {root}")
            if root != "backend":  # the stack's state is empty afterwards
                s3.put_object(Bucket="cart-service-tfstate-1", Key=f"{root}/terraform.tfstate", Body=_state(0))
        return ""

    monkeypatch.setattr(da, "terraform", terraform)


def _states(s3: Any, *keys: str) -> None:
    for key in keys:
        s3.put_object(Bucket="cart-service-tfstate-1", Key=f"{key}/terraform.tfstate", Body=_state(3))


ARGS = ["--bucket", "cart-service-tfstate-1", "--region", "eu-central-1", "--yes", "--no-init", "--poll-seconds", "0"]


@pytest.fixture
def roots(tmp_path: pathlib.Path) -> list[str]:
    """A terraform directory with the roots (qa too: an environment made from a copy of a root)."""
    for root in ("backend", "controlplane", "environments/dev", "environments/qa", "environments/prod"):
        (tmp_path / root).mkdir(parents=True)
    return [*ARGS, "--terraform-dir", str(tmp_path)]


def test_the_full_teardown_goes_through_the_control_plane_first_and_the_backend_last(
    state_bucket: Any, monkeypatch: pytest.MonkeyPatch, roots: list[str]
) -> None:
    da = _load("destroy_all")
    ecs = _live_service("dev")
    _live_service("prod")
    _states(state_bucket, "environments/prod", "environments/dev", "environments/qa", "controlplane")
    api = FakeControlPlane(ecs)
    events: list[str] = []
    _fake_terraform(da, monkeypatch, state_bucket, events, api_url=api.url)
    monkeypatch.setattr(da, "log", lambda m: events.append(m) if "through the control plane (" in m else None)
    try:
        assert da.main(roots) == 0
    finally:
        api.close()
    # the control plane's destroy of each environment (signed, confirmed, waited for) comes before any terraform
    posts = [(path, body, signed) for method, path, body, signed in api.requests if method == "POST"]
    assert posts == [
        ("/api/environments/dev/destroy", {"confirm": "dev"}, True),
        ("/api/environments/qa/destroy", {"confirm": "qa"}, True),
        ("/api/environments/prod/destroy", {"confirm": "prod"}, True),
    ]
    assert api.polls == {"destroy_dev_1": 2, "destroy_prod_1": 2}
    assert events == [
        "dev: destroyed through the control plane (destroy_dev_1)",
        "prod: destroyed through the control plane (destroy_prod_1)",
        "terraform destroy environments/dev",
        "terraform destroy environments/qa",
        "terraform destroy environments/prod",
        "terraform destroy controlplane",
        "terraform destroy backend",
    ]
    assert not da.live_services(ecs, "dev") and not da.live_services(ecs, "prod")


def test_refused_when_the_api_is_unreachable_while_a_service_runs(
    state_bucket: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    da = _load("destroy_all")
    _live_service("dev")
    _states(state_bucket, "environments/dev", "controlplane")
    events: list[str] = []
    _fake_terraform(da, monkeypatch, state_bucket, events, api_url="http://127.0.0.1:9/api")  # nothing listens
    with pytest.raises(SystemExit) as exc:
        da.main(ARGS)
    assert exc.value.code == da.REFUSED
    assert events == [], "nothing may be destroyed when refused"
    err = capsys.readouterr().err
    assert "REFUSED" in err and "environment dev still runs" in err and "cart-service-dev" in err


def test_refused_without_the_control_plane_stack_while_a_service_runs(
    state_bucket: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control plane's stack is gone already (the old order): its service cannot be removed by it any more."""
    da = _load("destroy_all")
    _live_service("dev")
    _states(state_bucket, "environments/dev")
    events: list[str] = []
    _fake_terraform(da, monkeypatch, state_bucket, events)
    with pytest.raises(SystemExit) as exc:
        da.main(ARGS)
    assert exc.value.code == da.REFUSED and events == []
    assert "the control plane stack has no state" in capsys.readouterr().err


def test_an_environment_without_a_service_needs_no_api(state_bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    da = _load("destroy_all")
    _states(state_bucket, "environments/dev")
    events: list[str] = []
    _fake_terraform(da, monkeypatch, state_bucket, events)
    assert da.main(ARGS) == 0
    assert events == ["terraform destroy environments/dev", "terraform destroy backend"]


def test_refused_when_the_control_planes_destroy_fails(
    state_bucket: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    da = _load("destroy_all")
    ecs = _live_service("dev")
    _states(state_bucket, "environments/dev", "controlplane")
    api = FakeControlPlane(ecs, outcome="FAILED")
    events: list[str] = []
    _fake_terraform(da, monkeypatch, state_bucket, events, api_url=api.url)
    try:
        with pytest.raises(SystemExit) as exc:
            da.main(ARGS)
    finally:
        api.close()
    assert exc.value.code == da.REFUSED and events == []
    assert "ended FAILED" in capsys.readouterr().err
