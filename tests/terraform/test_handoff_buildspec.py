"""The pipeline's HandOff stage (terraform/modules/cicd/buildspecs/handoff.yml), run the way CodeBuild runs it: the
commands of each phase in order, in one bash session, a failing command failing the build. cartctl, pip and the AWS
CLI are fakes on PATH that record how they were called; cartctl exits as the deploy would end.

What it shows: the stage installs the control plane's package, runs `cartctl deploy <env> --digest <pushed> --wait`
against CARTCTL_ENDPOINT, and fails whenever cartctl reports a deploy that did not succeed.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import subprocess
import sys
from typing import Any

import pytest
import yaml

from .conftest import TF_DIR

BUILDSPEC = TF_DIR / "modules" / "cicd" / "buildspecs" / "handoff.yml"
DIGEST = "sha256:" + "ab" * 32
ENDPOINT = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"

FAKES = {
    "cartctl": """#!/usr/bin/env bash
printf '%s\\n' "$(printf '%q ' "$@")" >> "$FAKE_LOG.cartctl"
printf '%s\\n' "$CARTCTL_ENDPOINT" >> "$FAKE_LOG.endpoint"
exit "${FAKE_CARTCTL_EXIT:-0}"
""",
    "python3": f"""#!/usr/bin/env bash
if [[ "$1" == "-m" && "$2" == "pip" ]]; then printf '%s\\n' "$*" >> "$FAKE_LOG.pip"; exit 0; fi
exec {shlex.quote(sys.executable)} "$@"
""",
    "aws": """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_LOG.aws"
[[ "$1 $2" == "s3 cp" ]] && touch "${@: -1}"
exit 0
""",
}


def run_buildspec(
    tmp: pathlib.Path,
    image_uri: str = f"123456789012.dkr.ecr.eu-central-1.amazonaws.com/cart-service-dev@{DIGEST}",
    **env_overrides: str,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    spec = yaml.safe_load(BUILDSPEC.read_text())
    assert spec["version"] == 0.2 and spec["env"]["shell"] == "bash"
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in FAKES.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    build_output = tmp / "BuildOutput"
    build_output.mkdir(exist_ok=True)
    (build_output / "imageDetail.json").write_text(json.dumps({"ImageURI": image_uri}))
    lines = []
    for phase in ("install", "pre_build", "build", "post_build"):
        for command in spec["phases"].get(phase, {}).get("commands", []):
            lines.append(f"{{\n{command}\n}} || exit $?")
    script = tmp / "buildspec.sh"
    script.write_text("\n".join(lines) + "\n")
    log = tmp / "log"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp),
        "FAKE_LOG": str(log),
        "CODEBUILD_SRC_DIR_BuildOutput": str(build_output),
        # the project's environment variables (modules/cicd, aws_codebuild_project.handoff)
        "ENVIRONMENT": "dev",
        "CARTCTL_ENDPOINT": ENDPOINT,
        "CONTROLPLANE_PACKAGE": "git+https://github.com/example-org/cart-controlplane@v1.0.0",
        **env_overrides,
    }
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    seen = {
        name: (pathlib.Path(f"{log}.{name}").read_text().splitlines() if pathlib.Path(f"{log}.{name}").exists() else [])
        for name in ("cartctl", "endpoint", "pip", "aws")
    }
    return proc, seen


def test_a_succeeded_deploy_passes_the_stage(tmp_path: pathlib.Path) -> None:
    proc, seen = run_buildspec(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert seen["pip"] == [
        "-m pip install --quiet --disable-pip-version-check git+https://github.com/example-org/cart-controlplane@v1.0.0"
    ]
    assert seen["cartctl"] == [f"deploy dev --digest {DIGEST} --wait "]
    assert seen["endpoint"] == [ENDPOINT]


@pytest.mark.parametrize("outcome, exit_code", [("FAILED", 1), ("ABORTED", 2), ("TIMED_OUT", 3)])
def test_a_deploy_that_does_not_succeed_fails_the_stage(tmp_path: pathlib.Path, outcome: str, exit_code: int) -> None:
    proc, seen = run_buildspec(tmp_path, FAKE_CARTCTL_EXIT=str(exit_code))
    assert proc.returncode != 0, f"{outcome}: the stage must fail"
    assert seen["cartctl"] == [f"deploy dev --digest {DIGEST} --wait "]


def test_a_package_in_s3_is_copied_then_installed(tmp_path: pathlib.Path) -> None:
    package = "s3://example-packages/cart-controlplane/cart_controlplane-1.0.0-py3-none-any.whl"
    proc, seen = run_buildspec(tmp_path, CONTROLPLANE_PACKAGE=package)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert seen["aws"] == [f"s3 cp --only-show-errors {package} /tmp/cart_controlplane-1.0.0-py3-none-any.whl"]
    assert seen["pip"][0].endswith(" /tmp/cart_controlplane-1.0.0-py3-none-any.whl")


def test_nothing_is_deployed_without_a_pushed_digest(tmp_path: pathlib.Path) -> None:
    proc, seen = run_buildspec(
        tmp_path, image_uri="123456789012.dkr.ecr.eu-central-1.amazonaws.com/cart-service-dev:latest"
    )
    assert proc.returncode != 0 and "names no pushed digest" in proc.stdout + proc.stderr
    assert seen["cartctl"] == []


@pytest.mark.parametrize("missing", ["CONTROLPLANE_PACKAGE", "CARTCTL_ENDPOINT"])
def test_the_stage_says_what_is_not_configured(tmp_path: pathlib.Path, missing: str) -> None:
    proc, seen = run_buildspec(tmp_path, **{missing: ""})
    assert proc.returncode != 0 and "is not set for this environment" in proc.stdout + proc.stderr
    assert seen["cartctl"] == []
