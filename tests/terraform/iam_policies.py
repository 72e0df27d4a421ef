"""Every IAM policy document the Terraform code produces, rendered as AWS receives it.

1. Each root is applied with the mocked provider by one of its own test files (tf_render.apply_states). Policies
   Terraform builds itself (jsonencode) are exact in that state; `aws_iam_policy_document` data sources are mocked,
   but their inputs (the statements, with every reference resolved) are there.
2. Those statements are rendered by the real hashicorp/aws provider, offline: a throw-away root declares one
   `aws_iam_policy_document` per document with the same statements and is applied with fake credentials (the data
   source is computed locally, nothing is called).
3. Every policy-valued attribute of every resource is collected too; the ones holding the mock's placeholder come
   from a data source of step 2, the others (jsonencode) are taken as they are.

Each document knows where it is defined (root, module directory, block) so that a finding can be matched against
the reasoned ignore comments next to it: `#parliament:ignore=<ISSUE> "<detail text>" <reason>` inside the block.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
from typing import Any

from . import tf_render
from .conftest import TF_DIR

MOCK_JSON = '{"Version":"2012-10-17","Statement":[]}'  # terraform/tests/mocks: mock_data "aws_iam_policy_document"

# Resource attributes that hold a policy document.
POLICY_ATTRIBUTES = {
    "aws_iam_role": "assume_role_policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
    "aws_s3_bucket_policy": "policy",
    "aws_sqs_queue_policy": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_kms_key": "policy",
    "aws_ecr_repository_policy": "policy",
    "aws_cloudwatch_event_bus_policy": "policy",
    "aws_api_gateway_rest_api_policy": "policy",
    "aws_api_gateway_rest_api": "policy",
    "aws_lambda_permission": None,  # not a document
}

# Policy attributes the configuration leaves unset (the mocked provider fills them with a random string).
UNSET_COMPUTED = {
    ("aws_api_gateway_rest_api", "aws_api_gateway_rest_api"),  # the control API has no resource policy (IAM per route)
}

# Which test file's apply runs render each root (terraform/<root>/<file>): together they reach every policy,
# including the variants (CI/CD on, prod's approval, a package in S3, an external id).
SOURCES = {
    "backend": "tests/backend.tftest.hcl",
    "environments/dev": "tests/settings.tftest.hcl",
    "environments/staging": "tests/settings.tftest.hcl",
    "environments/prod": "tests/settings.tftest.hcl",
    "controlplane": "tests/controlplane.tftest.hcl",
    "modules/cicd": "tests/cicd.tftest.hcl",
    "modules/operator_roles": "tests/operator_roles.tftest.hcl",
}


@dataclasses.dataclass
class Document:
    root: str  # terraform/<root>
    address: str  # e.g. module.environment.module.ecs.data.aws_iam_policy_document.task
    index: Any
    kind: str  # identity | resource | trust
    json: str
    block_dir: pathlib.Path  # directory of the .tf file defining it
    block: str  # e.g. data "aws_iam_policy_document" "task"

    @property
    def name(self) -> str:
        idx = "" if self.index is None else f"[{json.dumps(self.index)}]"
        return f"{self.root}: {self.address}{idx}"


# ---------------------------------------------------------------- where an address is defined


def _module_sources(directory: pathlib.Path) -> dict[str, pathlib.Path]:
    sources = {}
    for tf in directory.glob("*.tf"):
        for name, body in re.findall(r'^module "([^"]+)" \{(.*?)^\}', tf.read_text(), re.S | re.M):
            m = re.search(r'^\s*source\s*=\s*"([^"]+)"', body, re.M)
            if m and m.group(1).startswith("."):
                sources[name] = (directory / m.group(1)).resolve()
    return sources


def locate(root_dir: pathlib.Path, module_address: str) -> pathlib.Path:
    """Directory of the module at `module_address` (e.g. module.environment.module.ecs) under root_dir."""
    directory = root_dir.resolve()
    for name in re.findall(r"module\.([^.\[]+)", module_address):
        directory = _module_sources(directory)[name]
    return directory


def block_text(directory: pathlib.Path, block: str) -> str:
    """The text of `block` (e.g. data "aws_iam_policy_document" "task") in the .tf files of directory."""
    for tf in sorted(directory.glob("*.tf")):
        text = tf.read_text()
        start = text.find(block + " {")
        if start < 0:
            continue
        depth = 0
        for i in range(text.index("{", start), len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start : i + 1]
    return ""


def ignores(document: Document) -> dict[tuple[str, str], str]:
    """`#parliament:ignore=<ISSUE> "<detail text>" <reason>` comments inside the block defining the document:
    (issue, detail text) -> reason. A finding is ignored when its issue is ISSUE and its detail contains the text."""
    text = block_text(document.block_dir, document.block)
    return {
        (issue, detail): reason.strip()
        for issue, detail, reason in re.findall(r'#\s*parliament:ignore=([A-Z_]+) "([^"]+)" (.*)', text)
    }


# ---------------------------------------------------------------- collection


def _split(address: str) -> tuple[str, str]:
    """module.a.module.b.data.T.N -> ("module.a.module.b", 'data "T" "N"')."""
    parts = address.split(".")
    modules = []
    while parts and parts[0] == "module":
        modules.append(f"module.{parts[1]}")
        parts = parts[2:]
    block = f'data "{parts[1]}" "{parts[2]}"' if parts[0] == "data" else f'resource "{parts[0]}" "{parts[1]}"'
    return ".".join(modules), block


def _kind(statements: list[dict[str, Any]]) -> str:
    actions = {a for s in statements for a in (s.get("actions") or [])}
    principals_only = all(s.get("principals") and not s.get("resources") for s in statements)
    if statements and principals_only and actions and all(a.startswith("sts:") for a in actions):
        return "trust"
    if any(s.get("principals") or s.get("not_principals") for s in statements):
        return "resource"
    return "identity"


def _kind_of_json(policy: dict[str, Any]) -> str:
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    if all("Principal" in s and "Resource" not in s and "NotResource" not in s for s in statements):
        return "trust"
    return "resource" if any("Principal" in s or "NotPrincipal" in s for s in statements) else "identity"


def collect(env: dict[str, str]) -> tuple[list[Document], list[tuple[Document, list[dict[str, Any]]]]]:
    """Documents that are final JSON already, and data-source documents still to render (with their statements)."""
    final: dict[str, Document] = {}
    pending: dict[str, tuple[Document, list[dict[str, Any]]]] = {}
    for root, test_file in SOURCES.items():
        root_dir = TF_DIR / root
        for state in tf_render.apply_states(root_dir, test_file, env).values():
            for r in tf_render.resources(state):
                module_address, block = _split(r["address"].split("[")[0])
                base = {
                    "root": root,
                    "address": r["address"].split("[")[0],
                    "index": r.get("index"),
                    "block_dir": locate(root_dir, module_address),
                    "block": block,
                }
                values = r.get("values", {})
                if r["mode"] == "data" and r["type"] == "aws_iam_policy_document":
                    for field in (
                        "source_policy_documents",
                        "override_policy_documents",
                        "source_json",
                        "override_json",
                    ):
                        assert not values.get(field), f"{r['address']}: {field} is not rendered by this test"
                    statements = values.get("statement") or []
                    doc = Document(kind=_kind(statements), json="", **base)
                    pending.setdefault(doc.name, (doc, statements))
                elif r["mode"] == "managed" and POLICY_ATTRIBUTES.get(r["type"]):
                    text = values.get(POLICY_ATTRIBUTES[r["type"]])
                    if not text or text == MOCK_JSON:
                        continue  # empty, or rendered from a data source collected above
                    if not text.lstrip().startswith("{"):
                        # an optional+computed attribute the configuration leaves unset: the mock made up a value
                        assert (r["type"], r["address"].split(".")[-2]) in UNSET_COMPUTED, f"{r['address']}: {text!r}"
                        continue
                    doc = Document(kind=_kind_of_json(json.loads(text)), json=text, **base)
                    final.setdefault(doc.name, doc)
    return list(final.values()), list(pending.values())


RENDER_ROOT = """
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

# Offline: aws_iam_policy_document is computed by the provider itself; nothing here calls AWS.
provider "aws" {
  region                      = "eu-central-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

variable "docs" {
  type = map(list(object({
    sid            = optional(string)
    effect         = optional(string)
    actions        = optional(list(string))
    not_actions    = optional(list(string))
    resources      = optional(list(string))
    not_resources  = optional(list(string))
    principals     = optional(list(object({ type = string, identifiers = list(string) })), [])
    not_principals = optional(list(object({ type = string, identifiers = list(string) })), [])
    condition      = optional(list(object({ test = string, variable = string, values = list(string) })), [])
  })))
}

data "aws_iam_policy_document" "d" {
  for_each = var.docs

  dynamic "statement" {
    for_each = each.value
    content {
      sid           = statement.value.sid
      effect        = statement.value.effect
      actions       = statement.value.actions
      not_actions   = statement.value.not_actions
      resources     = statement.value.resources
      not_resources = statement.value.not_resources

      dynamic "principals" {
        for_each = statement.value.principals
        content {
          type        = principals.value.type
          identifiers = principals.value.identifiers
        }
      }

      dynamic "not_principals" {
        for_each = statement.value.not_principals
        content {
          type        = not_principals.value.type
          identifiers = not_principals.value.identifiers
        }
      }

      dynamic "condition" {
        for_each = statement.value.condition
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

output "json" {
  value = { for k, d in data.aws_iam_policy_document.d : k => d.json }
}
"""


def render(
    pending: list[tuple[Document, list[dict[str, Any]]]], workdir: pathlib.Path, env: dict[str, str]
) -> list[Document]:
    """Render the data-source documents with the real provider (one offline apply of a throw-away root)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(RENDER_ROOT)
    docs = {
        f"d{i}": [{k: v for k, v in s.items() if v not in (None, [])} for s in st] for i, (_, st) in enumerate(pending)
    }
    (workdir / "terraform.tfvars.json").write_text(json.dumps({"docs": docs}))
    for args in (["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]):
        proc = subprocess.run(["terraform", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"terraform {args[0]} (render):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    out = subprocess.run(
        ["terraform", "output", "-json", "json"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    rendered = json.loads(out.stdout)
    return [dataclasses.replace(doc, json=rendered[f"d{i}"]) for i, (doc, _) in enumerate(pending)]
