"""The offline checks of terraform/ (terraform/scripts/check.sh), one test per piece, so a failure names the piece:
the control plane package, fmt, init + validate of every root, terraform test, checkov; and static rules of the tree
(thin environment roots, a clean checkout validates, every state is KMS-encrypted, ...). Skipped only without a
terraform binary.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess

import pytest

from . import tf_render
from .conftest import REPO, TF_DIR

CHECK = TF_DIR / "scripts" / "check.sh"


def _check(piece: str, env: dict[str, str]) -> None:
    proc = subprocess.run(["bash", str(CHECK), piece], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"check.sh {piece} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"


def test_controlplane_package(terraform_env: dict[str, str]) -> None:
    _check("package", terraform_env)


def test_fmt(terraform_env: dict[str, str]) -> None:
    _check("fmt", terraform_env)


def test_validate_every_root(terraform_env: dict[str, str]) -> None:
    _check("validate", terraform_env)


TEST_FILES = sorted(p.relative_to(TF_DIR) for p in TF_DIR.glob("**/*.tftest.hcl") if ".terraform" not in p.parts)


def test_there_are_terraform_test_files() -> None:
    assert len(TEST_FILES) >= 10, TEST_FILES


@pytest.mark.parametrize("test_file", TEST_FILES, ids=str)
def test_terraform_test_files(test_file: pathlib.Path, terraform_env: dict[str, str]) -> None:
    """What `check.sh test` runs, a file at a time (each root has one), through the session's one run of each
    file (the IAM lint, the sandbox parity and the policy tests read the same runs' states)."""
    root = TF_DIR / test_file.parent.parent if test_file.parent.name == "tests" else TF_DIR / test_file.parent
    tf_render.apply_states(root, str((TF_DIR / test_file).relative_to(root)), terraform_env)


def test_checkov_has_no_failed_check(terraform_env: dict[str, str]) -> None:
    checkov = os.environ.get("CHECKOV") or (
        str(REPO / ".venv-tools" / "bin" / "checkov")
        if (REPO / ".venv-tools" / "bin" / "checkov").exists()
        else shutil.which("checkov")
    )
    if checkov is None:
        pytest.fail("checkov not installed: python3 -m venv .venv-tools && .venv-tools/bin/pip install checkov==3.3.30")
    _check("checkov", dict(terraform_env, CHECKOV=checkov))


def test_every_checkov_skip_has_a_reason() -> None:
    bad = []
    for path in TF_DIR.rglob("*.tf"):
        if ".terraform" in path.parts or "build" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "checkov:skip=" in line:
                rule, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                if len(reason.strip()) < 15:
                    bad.append(f"{path.relative_to(TF_DIR)}:{n}: {rule} has no reason")
    assert not bad, "\n".join(bad)


def test_every_module_has_its_files() -> None:
    missing = []
    for module in sorted((TF_DIR / "modules").iterdir()):
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            if not (module / name).is_file():
                missing.append(f"modules/{module.name}/{name}")
    assert not missing, missing


def test_every_variable_is_typed_and_described() -> None:
    bad = []
    for path in TF_DIR.rglob("variables.tf"):
        if ".terraform" in path.parts or "build" in path.parts:
            continue
        text = path.read_text()
        for block in re.split(r'\n(?=variable ")', text):
            m = re.match(r'(?:#[^\n]*\n)*\s*variable "([^"]+)"', block)
            if not m:
                continue
            if "description" not in block or "\n  type " not in block:
                bad.append(f"{path.relative_to(TF_DIR)}: {m.group(1)}")
    assert not bad, bad


@pytest.mark.skipif(not (REPO / "controlplane").is_dir(), reason="control plane package not present")
def test_published_contract_keys_match_the_control_plane_parser() -> None:
    """Every key the control plane's Contract requires is produced by modules/contract."""
    import dataclasses

    from controlplane.domain.contract import Contract

    keys = {"insights_log_group": "container_insights_log_group"}  # the field's key in the document
    required = {keys.get(f.name, f.name) for f in dataclasses.fields(Contract)} - {"environment", "tier", "profile"}
    base = (TF_DIR / "modules" / "contract" / "variables.tf").read_text()
    missing = [k for k in sorted(required) if f"    {k} " not in base]
    assert not missing, f"modules/contract does not publish {missing}"


def test_every_remote_state_is_encrypted_with_the_backend_key() -> None:
    """Every root with an S3 backend encrypts, locks with S3 lock files and is initialised from a backend.hcl that
    carries kms_key_id (terraform/backend.hcl.example, written from the backend root's backend_hcl output)."""
    roots = sorted(
        {p.parent for p in TF_DIR.rglob("*.tf") if 'backend "s3"' in p.read_text() and ".terraform" not in p.parts}
    )
    assert {r.relative_to(TF_DIR).as_posix() for r in roots} == {
        "controlplane",
        *(f"environments/{e}" for e in ENVIRONMENTS),
    }
    for root in roots:
        text = "\n".join(p.read_text() for p in root.glob("*.tf"))
        block = re.search(r'backend "s3" \{(.*?)\n  \}', text, re.S)
        assert block, root
        assert re.search(r"^\s*encrypt\s*=\s*true$", block.group(1), re.M), f"{root}: encrypt = true"
        assert re.search(r"^\s*use_lockfile\s*=\s*true$", block.group(1), re.M), f"{root}: use_lockfile = true"
        assert "kms_key_id" in text and "-backend-config=" in text and "backend.hcl" in text, (
            f"{root}: the backend block must say that kms_key_id comes from backend.hcl"
        )
    example = (TF_DIR / "backend.hcl.example").read_text()
    assert re.search(r'^kms_key_id\s*=\s*"arn:aws:kms:[a-z0-9-]+:\d{12}:key/', example, re.M), "backend.hcl.example"
    assert re.search(r'^region\s*=\s*"eu-central-1"$', example, re.M)
    outputs = (TF_DIR / "backend" / "outputs.tf").read_text()
    assert re.search(r"kms_key_id\s*=\s*aws_kms_key\.state\.arn", outputs), "backend_config must carry kms_key_id"


def test_one_default_region() -> None:
    """eu-central-1 is the only region the Terraform code, its examples, docs and tests default to."""
    files = [
        p
        for p in [*TF_DIR.rglob("*"), *(REPO / "tests" / "terraform").glob("*.py")]
        if p.is_file() and ".terraform" not in p.parts and "build" not in p.parts and p.suffix != ".zip"
    ]
    regions = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-(?:north|south|east|west|central|northeast|southeast)-\d\b")
    found = {
        f"{p.relative_to(REPO)}: {m}"
        for p in files
        for m in regions.findall(p.read_text(errors="ignore"))
        if m != "eu-central-1"
    }
    assert not found, sorted(found)


# What a running ECS service depends on, by file: replacing one of these must not break the service, so the new one is
# created (and published in the contract) before the old one is deleted; a fixed name would collide, so they have a
# generated one.
CREATE_BEFORE_DESTROY = {
    "modules/alb/main.tf": {"aws_lb_target_group.this": True, "aws_security_group.alb": True},
    "modules/ecs/main.tf": {"aws_security_group.tasks": True},
    "modules/vpc/main.tf": {"aws_subnet.private": False, "aws_route_table_association.private": False},
}


def _resource_block(text: str, address: str) -> str:
    kind, name = address.split(".")
    start = text.index(f'resource "{kind}" "{name}" {{')
    depth = 0
    for i in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start : i + 1]
    raise AssertionError(address)


def test_what_a_running_service_depends_on_is_created_before_destroyed() -> None:
    for path, resources in CREATE_BEFORE_DESTROY.items():
        text = (TF_DIR / path).read_text()
        for address, generated_name in resources.items():
            block = _resource_block(text, address)
            assert re.search(r"lifecycle \{\s*create_before_destroy = true\s*\}", block), f"{path}: {address}"
            if generated_name:
                assert re.search(r"^\s*name_prefix\s*=", block, re.M), f"{path}: {address} needs name_prefix"
                assert not re.search(r"^\s*name\s*=", block, re.M), f"{path}: {address} has a fixed name"


def test_integration_marker_is_registered(pytestconfig: pytest.Config) -> None:
    assert any(m.startswith("terraform_integration") for m in pytestconfig.getini("markers"))


if shutil.which("bash") is None:  # pragma: no cover
    pytest.skip("bash is required for terraform/scripts/check.sh", allow_module_level=True)


ENVIRONMENTS = ("dev", "staging", "prod")


def settings_row(env: str) -> dict[str, object]:
    """The settings block of environments/<env>/main.tf (one `key = value` per line), as Python values."""
    text = (TF_DIR / "environments" / env / "main.tf").read_text()
    block = re.search(r"\n  settings = \{\n(.*?)\n  \}", text, re.S)
    assert block, f"environments/{env}/main.tf has no settings block"
    row: dict[str, object] = {}
    for line in block.group(1).splitlines():
        key, _, value = line.split("#", 1)[0].partition("=")
        value = value.strip()
        row[key.strip()] = (
            value == "true" if value in ("true", "false") else value.strip('"') if value.startswith('"') else int(value)
        )
    return row


@pytest.mark.skipif(not (REPO / "controlplane").is_dir(), reason="control plane package not present")
def test_settings_table_agrees_with_the_control_plane() -> None:
    """The rows the roots publish (environments/<env>/main.tf) == the control plane's tier_profile()."""
    from controlplane.domain.contract import tier_profile

    for tier in ENVIRONMENTS:
        row, profile = settings_row(tier), tier_profile(tier)
        for key in ("desired_count", "min_count", "max_count", "autoscaling", "fargate_spot", "cpu_target_percent"):
            assert row[key] == getattr(profile, key), (tier, key)


def test_settings_table_rows() -> None:
    """The table of terraform/README.md and docs/contract.md, as the roots hold it."""
    dev, staging, prod = (settings_row(e) for e in ENVIRONMENTS)
    assert (dev["nat_gateway"], staging["nat_gateway"], prod["nat_gateway"]) == ("single", "single", "per_az")
    assert [(r["desired_count"], r["min_count"], r["max_count"]) for r in (dev, staging, prod)] == [
        (1, 1, 1),
        (2, 2, 4),
        (3, 3, 10),
    ]
    assert (dev["dynamodb"], staging["dynamodb"], prod["dynamodb"]) == ("on-demand", "on-demand", "provisioned")
    assert (dev["autoscaling"], staging["autoscaling"], prod["autoscaling"]) == (False, True, True)
    assert (dev["fargate_spot"], staging["fargate_spot"], prod["fargate_spot"]) == (True, False, False)
    # dev takes latest again and again; a tag of staging and prod names one image for good
    mutability = (dev["image_tag_mutability"], staging["image_tag_mutability"], prod["image_tag_mutability"])
    assert mutability == ("MUTABLE", "IMMUTABLE", "IMMUTABLE")


def test_environment_roots_are_thin() -> None:
    """An environment root holds its values, its backend and pass-throughs: no resource, data source or other module."""
    for env in ENVIRONMENTS:
        root = TF_DIR / "environments" / env
        text = "\n".join(p.read_text() for p in sorted(root.glob("*.tf")))
        blocks = re.findall(r'^(resource|data|module|locals)\b\s*"?([^"\s{]*)', text, re.M)
        assert blocks == [("module", "environment")], f"environments/{env}: {blocks}"
        assert 'source = "../../modules/environment"' in text
        assert f'key          = "environments/{env}/terraform.tfstate"' in text


def test_roots_validate_from_a_clean_checkout(terraform_env: dict[str, str], tmp_path: pathlib.Path) -> None:
    """`terraform init -backend=false && terraform validate` of every root (the control plane's included), on the
    tracked files only (what a fresh clone has: no deployment package, no .terraform)."""
    listed = subprocess.run(["git", "ls-files", "terraform"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    for name in listed.stdout.splitlines():
        dest = tmp_path / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dest)
    assert not (tmp_path / "terraform" / "controlplane" / "build").exists()
    for root in ("backend", *(f"environments/{e}" for e in ENVIRONMENTS), "controlplane"):
        cwd = tmp_path / "terraform" / root
        for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
            proc = subprocess.run(["terraform", *args], cwd=cwd, env=terraform_env, capture_output=True, text=True)
            assert proc.returncode == 0, f"{root}: terraform {args[0]}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
