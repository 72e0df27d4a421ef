#!/usr/bin/env python3
"""Build the control plane's deployment package for terraform/controlplane.

    python3 terraform/scripts/package_controlplane.py [--out terraform/controlplane/build]

Writes, into the output directory (git-ignored; terraform/controlplane reads it through var.package_dir):

- deployment.zip: the app's code and dependencies, from the project's own packager (scripts/package.py, which runs
  `chalice package` and drops what the Lambda runtime provides);
- openapi.json: the API's OpenAPI document as `chalice package` emits it (every route but /health needs SigV4),
  with the API handler's invoke ARN left as @@API_HANDLER_INVOKE_ARN@@ for Terraform to fill in.

Terraform declares the functions, their role, the rules and the API itself (modules/controlplane), from the files
`python -m controlplane generate` writes; nothing else of Chalice's output is used. The package is checked against
them: the same functions and handlers, the declared runtime, and no event rule of Chalice's own.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

TF_DIR = pathlib.Path(__file__).resolve().parent.parent
REPO = TF_DIR.parent
OUT = TF_DIR / "controlplane" / "build"
FUNCTIONS = TF_DIR / "modules" / "controlplane" / "generated" / "functions.json"
INVOKE_ARN = "${aws_lambda_function.api_handler.invoke_arn}"
PLACEHOLDER = "@@API_HANDLER_INVOKE_ARN@@"


class PackageError(SystemExit):
    def __init__(self, message: str) -> None:
        print(f"package_controlplane: {message}", file=sys.stderr)
        super().__init__(1)


def extract(template: dict, declared: dict) -> str:
    """The OpenAPI document of `chalice package --pkg-format terraform`'s output, after checking the output
    against the declared functions (generated/functions.json)."""
    resources = template.get("resource", {})
    functions = resources.get("aws_lambda_function", {})
    handlers = {name: f["handler"] for name, f in functions.items()}
    wanted = {name: f["handler"] for name, f in declared["functions"].items()}
    if handlers != wanted:
        raise PackageError(
            f"the app's functions differ from {FUNCTIONS.relative_to(REPO)}: run `python -m controlplane generate` "
            f"(app: {sorted(handlers.items())}; declared: {sorted(wanted.items())})"
        )
    runtimes = {f["runtime"] for f in functions.values()}
    if runtimes != {declared["runtime"]}:
        raise PackageError(f"packaged for {sorted(runtimes)}, but the functions are declared {declared['runtime']}")
    if resources.get("aws_cloudwatch_event_rule"):
        raise PackageError("the app declares event rules of its own; rules belong in controlplane/deployment.py")
    swagger = template.get("locals", {}).get("chalice_api_swagger")
    if not isinstance(swagger, str):
        raise PackageError("chalice package emitted no API document")
    document = swagger.replace(INVOKE_ARN, PLACEHOLDER)
    if "${" in document:
        raise PackageError("the API document refers to something other than the API handler's invoke ARN")
    json.loads(document)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    parser.add_argument("--stage", default="dev", help="the Chalice stage packaged (the package does not depend on it)")
    args = parser.parse_args(argv)
    declared = json.loads(FUNCTIONS.read_text())
    venv_python = REPO / ".venv" / "bin" / "python"
    python = str(venv_python if venv_python.exists() else sys.executable)
    with tempfile.TemporaryDirectory(prefix="cp-package-") as tmp:
        raw = pathlib.Path(tmp) / "raw"
        cmd = [
            python,
            str(REPO / "scripts" / "package.py"),
            str(raw),
            "--stage",
            args.stage,
            "--pkg-format",
            "terraform",
        ]
        env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-central-1")}
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PackageError(f"scripts/package.py failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        document = extract(json.loads((raw / "chalice.tf.json").read_text()), declared)
        out: pathlib.Path = args.out
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(raw / "deployment.zip", out / "deployment.zip")
        (out / "openapi.json").write_text(document + "\n")
    print(f"wrote {out / 'deployment.zip'} and {out / 'openapi.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
