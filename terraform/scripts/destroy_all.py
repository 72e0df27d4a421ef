#!/usr/bin/env python3
"""Tear everything down in the one safe order, and refuse to destroy the state backend while any stack has state.

    python3 terraform/scripts/destroy_all.py --yes                 # control plane, every environment, then backend
    python3 terraform/scripts/destroy_all.py --only-backend --yes  # backend only: refused unless all state is empty
    python3 terraform/scripts/destroy_all.py --check               # report which stacks still have state (exit 3 if any)

Order: the control plane stack (controlplane/terraform.tfstate), then each environment
(environments/<env>/terraform.tfstate, prod last), then the backend. Before the backend is touched the state
bucket itself is read: every object under environments/ and controlplane/ ending in .tfstate must hold no managed
resource. If one does — whatever the local directories say, including environments no directory here knows about —
the script stops with exit code 3 and destroys nothing of the backend. Only then it removes the (now empty) state
objects, all their versions and lock files, and runs `terraform destroy` in backend/.

Bucket, region and the state key come from the backend root's outputs (or --bucket/--region/--kms-key-id). Boto3
honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 (the integration test points them at a local emulator). Terraform
roots are initialised with -backend-config=bucket/region/kms_key_id (the state bucket refuses state written without
that key) unless --no-init (already initialised, e.g. with extra backend settings).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
from typing import Any

TF_DIR = pathlib.Path(__file__).resolve().parent.parent
STATE_PREFIXES = ("environments/", "controlplane/")
REFUSED = 3


class Refused(SystemExit):
    def __init__(self, message: str) -> None:
        print(f"REFUSED: {message}", file=sys.stderr)
        super().__init__(REFUSED)


def terraform(args: list[str], cwd: pathlib.Path, capture: bool = False) -> str:
    cmd = [os.environ.get("TERRAFORM", "terraform"), f"-chdir={cwd}", *args]
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, text=True, capture_output=capture)
    if proc.returncode != 0:
        if capture:
            sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"terraform {args[0]} failed in {cwd} ({proc.returncode})")
    return proc.stdout if capture else ""


def s3_client(region: str) -> Any:
    import boto3
    from botocore.config import Config

    custom = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(s3={"addressing_style": "path"} if custom else {}, retries={"max_attempts": 3})
    return boto3.client("s3", region_name=region, config=config)


def managed_resources(state: dict[str, Any]) -> int:
    return sum(
        len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode", "managed") == "managed"
    )


def stacks_with_state(s3: Any, bucket: str) -> dict[str, int]:
    """State key -> number of managed resource instances, for every non-empty state object in the bucket."""
    found: dict[str, int] = {}
    for prefix in STATE_PREFIXES:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not key.endswith(".tfstate"):
                    continue
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                try:
                    count = managed_resources(json.loads(body)) if body.strip() else 0
                except ValueError:
                    count = 1  # unreadable state: treat as non-empty, never guess
                if count:
                    found[key] = count
    return found


def purge_state_objects(s3: Any, bucket: str) -> int:
    """Delete every version and delete marker under the state prefixes (versioning stays enabled)."""
    removed = 0
    for prefix in STATE_PREFIXES:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
                removed += 1
    return removed


def stack_dir(key: str, tf_dir: pathlib.Path) -> pathlib.Path | None:
    parts = key.split("/")
    if parts[0] == "controlplane":
        return tf_dir / "controlplane"
    if parts[0] == "environments" and len(parts) == 3:
        return tf_dir / "environments" / parts[1]
    return None


def order(keys: list[str]) -> list[str]:
    rank = {"controlplane": 0, "dev": 1, "staging": 2, "prod": 3}

    def k(key: str) -> tuple[int, str]:
        parts = key.split("/")
        name = parts[0] if parts[0] == "controlplane" else parts[1] if len(parts) > 1 else key
        return (rank.get(name, 1), key)

    return sorted(keys, key=k)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Destroy all stacks, then the backend; refuse while any state remains.")
    p.add_argument("--terraform-dir", type=pathlib.Path, default=TF_DIR)
    p.add_argument("--bucket", help="state bucket (default: backend output bucket_name)")
    p.add_argument("--region", help="state bucket region (default: backend output region)")
    p.add_argument("--kms-key-id", help="state key ARN (default: backend output kms_key_arn)")
    p.add_argument("--only-backend", action="store_true", help="do not destroy stacks; destroy the backend if all state is empty")
    p.add_argument("--check", action="store_true", help="only report stacks with state (exit 3 if any)")
    p.add_argument("--no-init", action="store_true", help="roots are already initialised")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = p.parse_args(argv)
    tf_dir: pathlib.Path = args.terraform_dir.resolve()
    backend = tf_dir / "backend"

    bucket, region, kms_key_id = args.bucket, args.region, args.kms_key_id
    if not bucket or not region or (not kms_key_id and not args.no_init and not args.check):
        outputs = json.loads(terraform(["output", "-json"], backend, capture=True) or "{}")
        if "bucket_name" not in outputs:
            raise SystemExit(
                "the backend has no outputs (never applied, or already destroyed); pass --bucket/--region/--kms-key-id"
            )
        bucket = bucket or outputs["bucket_name"]["value"]
        region = region or outputs["region"]["value"]
        kms_key_id = kms_key_id or outputs.get("kms_key_arn", {}).get("value")
    s3 = s3_client(region)

    remaining = stacks_with_state(s3, bucket)
    if args.check:
        for key, count in sorted(remaining.items()):
            print(f"{key}: {count} resource instance(s)")
        return REFUSED if remaining else 0

    if not args.yes:
        answer = input(f"Destroy {'the backend' if args.only_backend else 'every stack and the backend'} ({bucket})? Type 'destroy': ")
        if answer.strip() != "destroy":
            print("aborted", file=sys.stderr)
            return 1

    if not args.only_backend:
        for key in order(list(remaining)):
            root = stack_dir(key, tf_dir)
            if root is None or not root.is_dir():
                raise Refused(f"{key} holds {remaining[key]} resource(s) but no root directory here manages it")
            if not args.no_init:
                terraform(["init", "-input=false", "-reconfigure", f"-backend-config=bucket={bucket}",
                           f"-backend-config=region={region}", f"-backend-config=kms_key_id={kms_key_id}"], root)
            terraform(["destroy", "-auto-approve", "-input=false"], root)
        remaining = stacks_with_state(s3, bucket)

    if remaining:
        listing = ", ".join(f"{k} ({n} resources)" for k, n in sorted(remaining.items()))
        raise Refused(f"state bucket {bucket} still holds state for: {listing}. Destroy those stacks first "
                      "(run this script without --only-backend).")

    removed = purge_state_objects(s3, bucket)
    print(f"removed {removed} empty state object version(s) from {bucket}", file=sys.stderr)
    terraform(["destroy", "-auto-approve", "-input=false"], backend)
    print("backend destroyed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
