"""Every IAM policy document the Terraform code produces, linted with parliament (pinned in the Makefile's tools
target, installed in .venv-tools next to checkov).

The documents are rendered offline (iam_policies.py): each root applied with the mocked provider by one of its own
test files, `aws_iam_policy_document` statements rendered by the real provider, jsonencode'd policies as they are.
Zero findings of severity MEDIUM or above are allowed, except those a reasoned comment next to the policy ignores:

    #parliament:ignore=<ISSUE> "<text of the finding's detail>" <why it does not apply>

inside the block that defines the document. An ignore that no longer matches a finding fails the test too.

Trust policies have no Resource (the role is the resource); parliament would call them malformed, so they are
linted with the role's ARN as their Resource, which lets it check the actions and condition keys against sts.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import pytest

from . import iam_policies
from .conftest import REPO, TF_DIR

TOOLS_PYTHON = REPO / ".venv-tools" / "bin" / "python"
SEVERITIES = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
THRESHOLD = "MEDIUM"

LINT = r"""
import json, sys
from parliament import analyze_policy_string, enhance_finding
results = []
for text in json.load(sys.stdin):
    policy = analyze_policy_string(text)
    results.append([
        {"issue": f.issue, "severity": enhance_finding(f).severity,
         "detail": f.detail if isinstance(f.detail, str) else json.dumps(f.detail, sort_keys=True)}
        for f in policy.findings
    ])
print(json.dumps(results))
"""


def _parliament_version() -> str:
    proc = subprocess.run(
        [str(TOOLS_PYTHON), "-c", "import parliament; print(parliament.__version__)"], capture_output=True, text=True
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


@pytest.fixture(scope="module")
def documents(terraform_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> list[iam_policies.Document]:
    final, pending = iam_policies.collect(terraform_env)
    return final + iam_policies.render(pending, tmp_path_factory.mktemp("render-policies"), terraform_env)


def _as_linted(doc: iam_policies.Document) -> str:
    if doc.kind != "trust":
        return doc.json
    policy = json.loads(doc.json)
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    for statement in statements:
        statement.setdefault("Resource", "arn:aws:iam::123456789012:role/the-trusting-role")
    return json.dumps(policy)


def test_parliament_is_the_pinned_version() -> None:
    makefile = (REPO / "Makefile").read_text()
    pinned = re.search(r"^PARLIAMENT_VERSION := (\S+)$", makefile, re.M)
    assert pinned and "parliament==$(PARLIAMENT_VERSION)" in makefile, "pin parliament in the Makefile's tools target"
    version = _parliament_version()
    if not version:
        pytest.fail(
            f"parliament not installed: {TOOLS_PYTHON} -m pip install parliament=={pinned.group(1)} (make setup)"
        )
    assert version == pinned.group(1)


def test_every_policy_document_is_found(documents: list[iam_policies.Document]) -> None:
    """Every aws_iam_policy_document and inline policy of terraform/ is among the rendered documents."""
    seen = {(d.block_dir, d.block) for d in documents}
    declared = set()
    for tf in TF_DIR.rglob("*.tf"):
        if ".terraform" in tf.parts or "build" in tf.parts:
            continue
        for kind, name in re.findall(r'^data "(aws_iam_policy_document)" "([^"]+)"', tf.read_text(), re.M):
            declared.add((tf.parent.resolve(), f'data "{kind}" "{name}"'))
        for kind, name in re.findall(r'^resource "(aws_iam_role_policy|aws_iam_role)" "([^"]+)"', tf.read_text(), re.M):
            declared.add((tf.parent.resolve(), f'resource "{kind}" "{name}"'))
    # roles and inline policies whose document comes from a data source are represented by that data source
    missing = sorted(
        f"{directory.relative_to(TF_DIR.resolve())}: {block}"
        for directory, block in declared - seen
        if block.startswith("data ") or "data.aws_iam_policy_document." not in iam_policies.block_text(directory, block)
    )
    assert not missing, f"not rendered by any test file in iam_policies.SOURCES: {missing}"
    assert len(documents) >= 60, len(documents)


def test_no_finding_of_medium_or_above(documents: list[iam_policies.Document]) -> None:
    if not _parliament_version():
        pytest.fail(f"parliament not installed in {TOOLS_PYTHON.parent.parent} (make setup)")
    proc = subprocess.run(
        [str(TOOLS_PYTHON), "-c", LINT],
        input=json.dumps([_as_linted(d) for d in documents]),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)

    unexplained, used = [], set()
    counts = {s: 0 for s in SEVERITIES}
    ignored = 0
    for doc, findings in zip(documents, results, strict=True):
        ignores = iam_policies.ignores(doc)
        for f in findings:
            counts[f["severity"]] += 1
            if SEVERITIES.index(f["severity"]) < SEVERITIES.index(THRESHOLD):
                continue
            match = next((key for key in ignores if key[0] == f["issue"] and key[1] in f["detail"]), None)
            if match:
                used.add((doc.block_dir, doc.block, *match))
                ignored += 1
            else:
                unexplained.append(f"{doc.name} ({doc.kind}): {f['severity']} {f['issue']}: {f['detail'][:300]}")
    stale = sorted(
        f"{directory.relative_to(TF_DIR.resolve())}: {block}: {issue} {text!r}"
        for doc in documents
        for (issue, text) in iam_policies.ignores(doc)
        for directory, block in [(doc.block_dir, doc.block)]
        if (directory, block, issue, text) not in used
    )
    print(
        f"parliament: {len(documents)} documents; findings by severity {counts}; "
        f"{ignored} at {THRESHOLD}+ matched by {len({u[:4] for u in used})} reasoned ignores"
    )
    assert not unexplained, "\n".join(sorted(set(unexplained)))
    assert not stale, "ignores that match no finding any more:\n" + "\n".join(sorted(set(stale)))


def test_every_ignore_has_a_reason() -> None:
    bad = []
    for tf in TF_DIR.rglob("*.tf"):
        if ".terraform" in tf.parts or "build" in tf.parts:
            continue
        for n, line in enumerate(tf.read_text().splitlines(), 1):
            if "parliament:ignore=" in line:
                m = re.search(r'parliament:ignore=([A-Z_]+) "([^"]+)" (.{30,})$', line)
                if not m:
                    bad.append(f"{tf.relative_to(TF_DIR)}:{n}")
    assert not bad, f'use #parliament:ignore=<ISSUE> "<detail text>" <reason of 30+ characters>: {bad}'


def test_documents_are_real_policies(documents: list[iam_policies.Document]) -> None:
    for doc in documents:
        policy = json.loads(doc.json)
        assert policy.get("Version") == "2012-10-17", doc.name
        assert policy.get("Statement"), doc.name
    kinds = {d.kind for d in documents}
    assert kinds == {"identity", "resource", "trust"}, kinds
    assert dataclasses.is_dataclass(documents[0])
