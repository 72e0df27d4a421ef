"""Fast tests of terraform/scripts: the control plane packager's post-processing and the enforced cleanup order."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys
from types import ModuleType
from typing import Any

import pytest

from .conftest import REPO, TF_DIR


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TF_DIR / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- packaging


def _chalice_like_template() -> dict[str, Any]:
    return {
        "terraform": {"required_version": ">= 0.12.26, < 1.4.0", "required_providers": {"aws": {"version": "< 5"}}},
        "data": {"null_data_source": {"chalice": {"inputs": {"app": "cart-controlplane", "stage": "dev"}}}},
        "locals": {"chalice_api_swagger": "{}"},
        "output": {"EndpointURL": {"value": "${aws_api_gateway_deployment.rest_api.invoke_url}"}},
        "resource": {
            "aws_iam_role": {"default_role": {"name": "x"}},
            "aws_iam_role_policy": {"default_role": {"policy": "{}"}},
            "aws_lambda_function": {
                "on_ecr_push": {
                    "role": "${aws_iam_role.default_role.arn}",
                    "function_name": "cart-controlplane-dev-on_ecr_push",
                },
                "other": {
                    "role": "${aws_iam_role.default_role.arn}",
                    "environment": {"variables": {"A": "${data.null_data_source.chalice.outputs.stage}"}},
                },
            },
            "aws_cloudwatch_event_rule": {
                "on_ecr_push-event": {"name": "on_ecr_push-event", "event_pattern": "{}"},
                "other-event": {"name": "other-event", "schedule_expression": "rate(1 hour)"},
            },
            "aws_cloudwatch_event_target": {
                "on_ecr_push-event": {
                    "rule": "${aws_cloudwatch_event_rule.on_ecr_push-event.name}",
                    "arn": "${aws_lambda_function.on_ecr_push.arn}",
                },
                "other-event": {
                    "rule": "${aws_cloudwatch_event_rule.other-event.name}",
                    "arn": "${aws_lambda_function.other.arn}",
                },
            },
            "aws_lambda_permission": {
                "on_ecr_push-event": {"source_arn": "${aws_cloudwatch_event_rule.on_ecr_push-event.arn}"},
                "other-event": {"source_arn": "${aws_cloudwatch_event_rule.other-event.arn}"},
            },
            "aws_api_gateway_rest_api": {"rest_api": {"name": "cart-controlplane"}},
            "aws_api_gateway_deployment": {
                "rest_api": {"rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}", "stage_name": "api"}
            },
        },
    }


def test_postprocess_overrides_chalice_constraints_and_roles() -> None:
    pkg = _load("package_controlplane")
    out = pkg.postprocess(_chalice_like_template(), "dev")
    text = json.dumps(out)
    assert "terraform" not in out, "chalice's required_version < 1.4 / aws < 5 block must be gone"
    assert "null_data_source" not in text and "aws_iam_role." not in text
    res = out["resource"]
    assert "aws_iam_role" not in res and "aws_iam_role_policy" not in res
    for fn in res["aws_lambda_function"].values():
        assert fn["role"] == "${var.lambda_role_arn}"
        assert fn["tracing_config"] == {"mode": "Active"}
        assert "var.environment_variables" in fn["environment"]["variables"]
    assert '"dev"' in res["aws_lambda_function"]["other"]["environment"]["variables"]
    # Terraform owns the ECR push rule: Chalice's copy and its permission are gone, the other rule is kept, prefixed
    assert list(res["aws_cloudwatch_event_rule"]) == ["other-event"]
    assert res["aws_cloudwatch_event_rule"]["other-event"]["name"] == "cart-controlplane-dev-other-event"
    assert list(res["aws_lambda_permission"]) == ["other-event"]
    # API stage with X-Ray instead of the deprecated inline stage_name
    assert "stage_name" not in res["aws_api_gateway_deployment"]["rest_api"]
    assert res["aws_api_gateway_stage"]["rest_api"]["xray_tracing_enabled"] is True
    assert out["output"]["EndpointURL"]["value"] == "${aws_api_gateway_stage.rest_api.invoke_url}"
    assert set(out["output"]["function_arns"]["value"]) == {"on_ecr_push", "other"}
    assert out["output"]["terraform_rules"]["value"] == {"on_ecr_push": {"event_pattern": "{}"}}


def test_stub_module_has_the_same_interface(tmp_path: pathlib.Path) -> None:
    pkg = _load("package_controlplane")
    assert pkg.main(["--stub", "--out", str(tmp_path / "chalice"), "--quiet"]) == 0
    main_tf = (tmp_path / "chalice" / "main.tf").read_text()
    for name in ("function_arns", "function_names", "rest_api_id", "EndpointURL"):
        assert f'output "{name}"' in main_tf


@pytest.mark.skipif(not (REPO / "app.py").exists(), reason="app.py not present yet")
def test_real_package_is_a_terraform_module(tmp_path: pathlib.Path) -> None:
    pkg = _load("package_controlplane")
    out = tmp_path / "chalice"
    assert pkg.main(["--out", str(out), "--quiet"]) == 0
    template = json.loads((out / "chalice.tf.json").read_text())
    assert "terraform" not in template
    assert (out / "deployment.zip").stat().st_size > 0
    assert 'version = "~> 5.100"' in (out / "versions.tf").read_text()
    names = {f["function_name"] for f in template["resource"]["aws_lambda_function"].values()}
    assert "cart-controlplane-dev-step_lock" in names  # what the ASL files call ${function_prefix}step_lock


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
