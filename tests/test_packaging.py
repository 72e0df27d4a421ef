"""`chalice package` produces a zip that really contains controlplane/ and whose handlers import cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from controlplane.domain.flows import PHASES

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "out"
    subprocess.run(
        [sys.executable, "scripts/package.py", str(out), "--stage", "dev"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def test_zip_holds_the_package_and_not_the_runtime(package: Path) -> None:
    names = zipfile.ZipFile(package / "deployment.zip").namelist()
    for required in (
        "app.py",
        "controlplane/__init__.py",
        "controlplane/entrypoints/steps.py",
        "controlplane/domain/model.py",
        "chalice/app.py",
        "aws_lambda_powertools/__init__.py",
    ):
        assert required in names, f"{required} missing from the zip"
    assert not any(n.startswith(("tests/", "botocore/", "boto3/", "terraform/")) for n in names)


def test_handlers_import_in_a_clean_interpreter(package: Path, tmp_path: Path) -> None:
    # GIVEN the zip unpacked, and a stand-in for the Lambda runtime's own packages (boto3 and friends)
    code = tmp_path / "task"
    zipfile.ZipFile(package / "deployment.zip").extractall(code)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    for name in RUNTIME:
        if (site / name).exists():
            (runtime / name).symlink_to(site / name)
    template = json.loads((package / "sam.json").read_text())
    functions = {
        k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"
    }
    handlers = sorted({p["Handler"] for p in functions.values()})
    assert "app.app" in handlers and "controlplane.entrypoints.steps.step_rollout" in handlers
    # WHEN every handler is imported with no site-packages and no project on the path
    probe = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(code)!r}, {str(runtime)!r}]\n"
        f"for h in {handlers!r}:\n"
        "    mod, _, attr = h.rpartition('.')\n"
        "    assert callable(getattr(importlib.import_module(mod), attr)), h\n"
        "import controlplane\n"
        "print(controlplane.__file__)\n"
    )
    env = {"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    # THEN they all import, from the zip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(code))
    # the API handler, one step per phase, 3 event handlers and 4 schedules
    assert len(handlers) == 1 + len(PHASES) + 3 + 4


def test_the_package_emits_no_rule_terraform_owns_them(package: Path) -> None:
    """Each rule and schedule has one owner (controlplane/deployment.py -> Terraform's generated/events.json)."""
    from controlplane.deployment import EVENT_RULES

    template = json.loads((package / "sam.json").read_text())
    events = [
        event
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] != "Api"
    ]
    assert events == []
    declared = json.loads((ROOT / "terraform/modules/controlplane/generated/events.json").read_text())["rules"]
    assert sorted(r["schedule_expression"] for r in declared.values() if r["schedule_expression"]) == [
        "cron(0 20 ? * MON-FRI *)",
        "cron(0 6 ? * MON-FRI *)",
        "cron(30 19 ? * MON-FRI *)",
        "rate(5 minutes)",
    ]
    assert sorted(r["event_pattern"]["detail-type"][0] for r in declared.values() if r["event_pattern"]) == [
        "CodeBuild Build State Change",
        "ECR Image Action",
        "ECS Deployment State Change",
    ]
    assert {r.function for r in EVENT_RULES} == {r["function"] for r in declared.values()}


def test_generated_api_requires_sigv4_everywhere_but_health_and_the_contract(package: Path) -> None:
    template = json.loads((package / "sam.json").read_text())
    swagger = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    for path, methods in swagger["paths"].items():
        for method, spec in methods.items():
            if method == "options":
                continue
            secured = any("sigv4" in s for s in spec.get("security", []))
            assert secured == (path not in ("/health", "/openapi.json")), f"{method.upper()} {path}"
