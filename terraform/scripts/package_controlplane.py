#!/usr/bin/env python3
"""Package the control plane's Chalice app for terraform/controlplane.

    python3 terraform/scripts/package_controlplane.py [--stage dev] [--allow-stub | --stub] [--quiet]

Writes terraform/controlplane/build/chalice/ — a Terraform *module* made from `chalice package --pkg-format terraform`:

* the raw package comes from the project's own scripts/package.py (`--pkg-format terraform`; it strips what the
  Lambda runtime provides) when it exists; otherwise (or with --standalone) the project (app.py, requirements.txt,
  the `controlplane` package as vendor/controlplane, .chalice/config.json — the project's own if it has one, else a
  generated one for app_name cart-controlplane) is staged in a temp dir and packaged there;
* chalice.tf.json is post-processed:
  - its `terraform` block (required_version < 1.4.0, aws < 5, null provider) is removed; versions.tf of the module
    requires Terraform >= 1.10 and hashicorp/aws ~> 5.100 instead;
  - the `null_data_source` (hashicorp/null, absent offline and deprecated) is removed and its app/stage outputs are
    inlined;
  - Chalice's EventBridge rules for on_ecr_push / nightly_teardown are removed (modules/controlplane owns those
    rules, stage-prefixed); any other Chalice rule gets a stage-prefixed name;
  - the Chalice-managed IAM role and policy are dropped: every function runs with `var.lambda_role_arn`, the
    least-privilege role of modules/controlplane; functions get `var.environment_variables`, X-Ray active tracing
    and `var.tags`;
* a variables.tf / outputs.tf (function ARNs and names by Chalice name, API id and URL) are written next to it.

--allow-stub: when app.py is missing (or --stub is given), a stub module with the same interface and no resources
is written, so `terraform validate` of terraform/controlplane works before the app exists.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

TF_DIR = pathlib.Path(__file__).resolve().parent.parent
REPO = TF_DIR.parent
OUT = TF_DIR / "controlplane" / "build" / "chalice"
APP_NAME = "cart-controlplane"

VERSIONS_TF = """\
# Written by terraform/scripts/package_controlplane.py: replaces the constraints chalice package emits
# (required_version < 1.4.0, aws < 5, hashicorp/null).
terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
"""

VARIABLES_TF = """\
# Written by terraform/scripts/package_controlplane.py.
variable "lambda_role_arn" {
  description = "Execution role of every control plane function (modules/controlplane)."
  type        = string
}

variable "environment_variables" {
  description = "Environment variables of every function (stage, registry table, state machine prefix...)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for the functions and the API."
  type        = map(string)
  default     = {}
}
"""


def log(quiet: bool, *args: object) -> None:
    if not quiet:
        print(*args, file=sys.stderr)


def stage_project(stage: str, tmp: pathlib.Path) -> pathlib.Path:
    proj = tmp / "project"
    proj.mkdir()
    shutil.copy2(REPO / "app.py", proj / "app.py")
    req = REPO / "requirements.txt"
    (proj / "requirements.txt").write_text(req.read_text() if req.exists() else "")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "sandbox")
    shutil.copytree(REPO / "controlplane", proj / "vendor" / "controlplane", ignore=ignore)
    if (REPO / "vendor").is_dir():
        shutil.copytree(REPO / "vendor", proj / "vendor", dirs_exist_ok=True, ignore=ignore)
    chalice_dir = proj / ".chalice"
    if (REPO / ".chalice" / "config.json").exists():
        shutil.copytree(REPO / ".chalice", chalice_dir, ignore=shutil.ignore_patterns("deployed", "deployments"))
        config = json.loads((chalice_dir / "config.json").read_text())
    else:
        chalice_dir.mkdir()
        config = {"version": "2.0", "app_name": APP_NAME, "stages": {}}
    stages = config.setdefault("stages", {})
    st = stages.setdefault(stage, {})
    st.setdefault("api_gateway_stage", "api")
    # The role comes from Terraform (modules/controlplane); the packager replaces it with var.lambda_role_arn.
    st["manage_iam_role"] = False
    st["iam_role_arn"] = "arn:aws:iam::000000000000:role/replaced-by-package-controlplane"
    st.setdefault("lambda_timeout", 60)
    st.setdefault("lambda_memory_size", 256)
    (chalice_dir / "config.json").write_text(json.dumps(config, indent=2))
    return proj


def run_chalice(proj: pathlib.Path, stage: str, out: pathlib.Path, quiet: bool) -> None:
    chalice = shutil.which("chalice") or str(REPO / ".venv" / "bin" / "chalice")
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "eu-west-1"))
    cmd = [chalice, "package", "--pkg-format", "terraform", "--stage", stage, str(out)]
    log(quiet, "+", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"chalice package failed ({proc.returncode})")


def _replace_refs(obj: object, mapping: dict[str, str]) -> object:
    if isinstance(obj, dict):
        return {k: _replace_refs(v, mapping) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replace_refs(v, mapping) for v in obj]
    if isinstance(obj, str):
        for old, new in mapping.items():
            obj = obj.replace(old, new)
        return obj
    return obj


# Functions whose EventBridge rules Terraform owns (modules/controlplane: stage-prefixed names, the ECR rule limited
# to cart-service-* repositories). Chalice's own rules for them are removed so no event is delivered twice.
TERRAFORM_RULES = {"on_ecr_push", "nightly_teardown"}


def _take_over_event_rules(resources: dict, stage: str) -> dict[str, dict[str, str]]:
    """Remove Chalice's rules for TERRAFORM_RULES functions; return what they said (schedule / pattern) by function."""
    taken: dict[str, dict[str, str]] = {}
    rules = resources.get("aws_cloudwatch_event_rule", {})
    targets = resources.get("aws_cloudwatch_event_target", {})
    permissions = resources.get("aws_lambda_permission", {})
    for rule_name in list(rules):
        ref = "${aws_cloudwatch_event_rule.%s." % rule_name
        rule_targets = [k for k, t in targets.items() if str(t.get("rule", "")).startswith(ref)]
        functions = {
            m.group(1)
            for k in rule_targets
            for m in [re.match(r"\$\{aws_lambda_function\.([^.]+)\.arn\}", str(targets[k].get("arn", "")))]
            if m
        }
        if functions and functions <= TERRAFORM_RULES:
            spec = {k: rules[rule_name][k] for k in ("schedule_expression", "event_pattern") if k in rules[rule_name]}
            for fn_name in functions:
                taken[fn_name] = spec
            del rules[rule_name]
            for k in rule_targets:
                del targets[k]
            for k in [k for k, perm in permissions.items() if str(perm.get("source_arn", "")).startswith(ref)]:
                del permissions[k]
        else:
            # Chalice does not stage-prefix rule names; two stages in one account would collide.
            rules[rule_name]["name"] = f"{APP_NAME}-{stage}-{rules[rule_name].get('name', rule_name)}"
    for rtype in ("aws_cloudwatch_event_rule", "aws_cloudwatch_event_target", "aws_lambda_permission"):
        if rtype in resources and not resources[rtype]:
            del resources[rtype]
    return taken


def postprocess(template: dict, stage: str) -> dict:
    template.pop("terraform", None)
    data = template.get("data", {})
    data.pop("null_data_source", None)
    template = _replace_refs(template, {
        "${data.null_data_source.chalice.outputs.app}": APP_NAME,
        "${data.null_data_source.chalice.outputs.stage}": stage,
    })  # type: ignore[assignment]
    resources = template.setdefault("resource", {})
    # Chalice's own role/policy (only when manage_iam_role was on) are replaced by var.lambda_role_arn.
    for rtype in ("aws_iam_role", "aws_iam_role_policy"):
        resources.pop(rtype, None)
    taken = _take_over_event_rules(resources, stage)
    functions = resources.get("aws_lambda_function", {})
    for fn in functions.values():
        fn["role"] = "${var.lambda_role_arn}"
        env = fn.get("environment", {}).get("variables", {}) if isinstance(fn.get("environment"), dict) else {}
        fn["environment"] = {"variables": "${merge(%s, var.environment_variables)}" % json.dumps(env).replace("${", "$${")}
        fn["tracing_config"] = {"mode": "Active"}
        fn["tags"] = "${var.tags}"
    text = json.dumps(template)
    if "null_data_source" in text or "aws_iam_role." in text:
        raise SystemExit("post-processing left a reference to null_data_source or the Chalice IAM role")
    template.setdefault("output", {})
    template["output"]["function_arns"] = {
        "description": "Function ARNs by Chalice name.",
        "value": {name: "${aws_lambda_function.%s.arn}" % name for name in functions},
    }
    template["output"]["function_names"] = {
        "description": "Function names by Chalice name.",
        "value": {name: "${aws_lambda_function.%s.function_name}" % name for name in functions},
    }
    # API Gateway: the deployment's inline stage_name is deprecated in aws 5.x; use a stage resource with X-Ray.
    for name, dep in resources.get("aws_api_gateway_deployment", {}).items():
        stage_name = dep.pop("stage_name", None)
        dep.pop("stage_description", None)
        if stage_name is None:
            continue
        dep["triggers"] = {"redeployment": "${md5(local.chalice_api_swagger)}"}
        resources.setdefault("aws_api_gateway_stage", {})[name] = {
            "deployment_id": "${aws_api_gateway_deployment.%s.id}" % name,
            "rest_api_id": dep["rest_api_id"],
            "stage_name": stage_name,
            "xray_tracing_enabled": True,
            "tags": "${var.tags}",
        }
        out = template.get("output", {})
        if "EndpointURL" in out:
            out["EndpointURL"]["value"] = "${aws_api_gateway_stage.%s.invoke_url}" % name
    template["output"]["terraform_rules"] = {
        "description": "What the app declared for the rules Terraform owns (schedule_expression / event_pattern by function).",
        "value": taken,
    }
    apis = resources.get("aws_api_gateway_rest_api", {})
    if apis:
        api = next(iter(apis))
        template["output"]["rest_api_id"] = {"value": "${aws_api_gateway_rest_api.%s.id}" % api}
        template["output"]["rest_api_execution_arn"] = {"value": "${aws_api_gateway_rest_api.%s.execution_arn}" % api}
    return template


def write_stub(out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "STUB").write_text("app.py was not there when this was generated: no functions, no API.\n")
    (out / "main.tf").write_text(
        "# STUB written by terraform/scripts/package_controlplane.py (no app.py yet): same interface, no resources.\n"
        "output \"function_arns\" {\n  value = {}\n}\n\noutput \"function_names\" {\n  value = {}\n}\n\n"
        "output \"rest_api_id\" {\n  value = null\n}\n\noutput \"rest_api_execution_arn\" {\n  value = null\n}\n\n"
        "output \"terraform_rules\" {\n  value = {}\n}\n\n"
        "output \"EndpointURL\" {\n  value = null\n}\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Package the Chalice control plane as a Terraform module.")
    p.add_argument("--stage", default=os.environ.get("CONTROLPLANE_STAGE", "dev"))
    p.add_argument("--out", type=pathlib.Path, default=OUT)
    p.add_argument("--stub", action="store_true", help="write the stub module even if app.py exists")
    p.add_argument("--allow-stub", action="store_true", help="write the stub module when app.py is missing")
    p.add_argument("--standalone", action="store_true", help="stage and package here even if scripts/package.py exists")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,15}", args.stage):
        raise SystemExit("stage must be 1-16 lowercase letters, digits or hyphens")

    out: pathlib.Path = args.out
    if out.exists():
        shutil.rmtree(out)
    if args.stub or not (REPO / "app.py").exists():
        if not (args.stub or args.allow_stub):
            raise SystemExit("app.py not found (use --allow-stub to write the stub module)")
        write_stub(out)
        log(args.quiet, f"wrote stub module {out}")
        return 0

    with tempfile.TemporaryDirectory(prefix="cp-package-") as tmp_name:
        tmp = pathlib.Path(tmp_name)
        raw = tmp / "raw"
        project_packager = REPO / "scripts" / "package.py"
        if project_packager.exists() and not args.standalone:
            # The project's own packager (chalice package + drop what the Lambda runtime provides): one zip for all.
            python = REPO / ".venv" / "bin" / "python"
            cmd = [str(python if python.exists() else sys.executable), str(project_packager), str(raw),
                   "--stage", args.stage, "--pkg-format", "terraform"]
            log(args.quiet, "+", " ".join(cmd))
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout + proc.stderr)
                raise SystemExit(f"scripts/package.py failed ({proc.returncode})")
        else:
            proj = stage_project(args.stage, tmp)
            run_chalice(proj, args.stage, raw, args.quiet)
        template = json.loads((raw / "chalice.tf.json").read_text())
        template = postprocess(template, args.stage)
        out.mkdir(parents=True)
        shutil.copy2(raw / "deployment.zip", out / "deployment.zip")
        (out / "chalice.tf.json").write_text(json.dumps(template, indent=2, sort_keys=True) + "\n")
        (out / "versions.tf").write_text(VERSIONS_TF)
        (out / "variables.tf").write_text(VARIABLES_TF)
    log(args.quiet, f"wrote module {out} ({len(template['resource'].get('aws_lambda_function', {}))} functions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
