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
    assert (
        da.order(
            [
                "environments/prod/terraform.tfstate",
                "controlplane/terraform.tfstate",
                "environments/dev/terraform.tfstate",
            ]
        )[0]
        == "controlplane/terraform.tfstate"
    )


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
    assert ["destroy", "-auto-approve", "-input=false"] in calls
