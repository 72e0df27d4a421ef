"""Render what Terraform would create, offline: run one `*.tftest.hcl` of a root with the mocked provider, in
verbose JSON mode, and return the state of each `command = apply` run (values as Terraform computed them).

`terraform test -json -verbose` prints a `test_state` message per apply run holding the state in the format of
`terraform show -json`. Under `mock_provider "aws"` everything Terraform itself computes (jsonencode, templatefile,
locals, module wiring) is exact; attributes the provider would compute are the mocks' values
(terraform/tests/mocks), and data sources are mocked too: aws_iam_policy_document keeps its inputs (statements)
but not its rendered `json`, which iam_policies.py renders with the real provider.
"""

from __future__ import annotations

import copy
import json
import pathlib
import subprocess
from collections.abc import Iterator
from typing import Any


def init(root: pathlib.Path, env: dict[str, str]) -> None:
    """Every time (it is quick with the plugin cache): a checkout's stale .terraform misses modules added since."""
    proc = subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-no-color"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"terraform init in {root}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


_RUNS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


def apply_states(root: pathlib.Path, test_file: str, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """State of every `command = apply` run of `test_file` (relative to root), by run name. The test file's own
    assertions must pass. Each file runs once per test session (the tests under tests/terraform share one worker
    and the tree does not change under them); callers get their own copy."""
    key = (str(root.resolve()), test_file)
    if key not in _RUNS:
        _RUNS[key] = _run(root, test_file, env)
    return copy.deepcopy(_RUNS[key])


def _run(root: pathlib.Path, test_file: str, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    init(root, env)
    proc = subprocess.run(
        ["terraform", "test", "-json", "-verbose", f"-filter={test_file}", "-no-color"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    states: dict[str, dict[str, Any]] = {}
    diagnostics: list[str] = []
    for line in proc.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("type") == "test_state":
            state = message["test_state"]
            state.pop("provider_schemas", None)  # large and unused
            states[message["@testrun"]] = state
        elif message.get("type") == "diagnostic":
            diagnostics.append(json.dumps(message.get("diagnostic", {}))[:2000])
    assert proc.returncode == 0, f"terraform test {test_file} in {root} failed:\n" + "\n".join(diagnostics[-10:])
    return states


def resources(state: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every resource and data source instance of a state, child modules included."""

    def walk(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield from module.get("resources", [])
        for child in module.get("child_modules", []):
            yield from walk(child)

    yield from walk(state.get("root_module", state.get("values", {}).get("root_module", {})))


def outputs(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v.get("value") for k, v in state.get("outputs", state.get("values", {}).get("outputs", {})).items()}
