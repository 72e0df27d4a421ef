#!/usr/bin/env python3
"""Tear everything down in the one order that works on AWS, and refuse (exit 3) when a step cannot run.

    python3 terraform/scripts/destroy_all.py --yes                 # the full teardown (below)
    python3 terraform/scripts/destroy_all.py --only-backend --yes  # backend only: refused unless all state is empty
    python3 terraform/scripts/destroy_all.py --check               # report which stacks still have state (exit 3 if any)

The full teardown:

1. every environment with state is destroyed *through the control plane* first: its API's destroy (with the
   typed confirmation), waited for until the operation ends. That removes what the control plane made (the ECS
   service, its autoscaling, task definitions, images, runtime log groups); on AWS an environment's own destroy
   fails while they exist (the cluster still has a service, the Spot capacity provider is in use, the tasks'
   network interfaces hold the subnets). The API's URL is the output api_url of the control plane stack at
   controlplane/terraform.tfstate (or --api-url: another stage's API for the environments it manages);
   requests are signed with SigV4 (service execute-api, the operator's AWS credentials from botocore's chain). An environment the control plane does not know
   is fine as long as no service of it runs. When the API cannot be reached (or refuses) while a service of the
   environment still exists, the script stops here: the tool that can remove it would otherwise be gone next;
2. then each environment's stack (environments/<env>/terraform.tfstate; prod last);
3. then the control plane's stack (controlplane/terraform.tfstate, and any other stage's state under controlplane/);
4. then the backend: only when every state object in the bucket holds no managed resource (environments no
   directory here knows about included); the empty state objects, all their versions and lock files are removed
   and `terraform destroy` runs in backend/.

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
import time
import urllib.error
import urllib.request
from typing import Any

TF_DIR = pathlib.Path(__file__).resolve().parent.parent
STATE_PREFIXES = ("environments/", "controlplane/")
CONTROLPLANE_STATE = "controlplane/terraform.tfstate"
REFUSED = 3
LIVE = ("ACTIVE", "DRAINING")


class Refused(SystemExit):
    def __init__(self, message: str) -> None:
        print(f"REFUSED: {message}", file=sys.stderr)
        super().__init__(REFUSED)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def terraform(args: list[str], cwd: pathlib.Path, capture: bool = False) -> str:
    cmd = [os.environ.get("TERRAFORM", "terraform"), f"-chdir={cwd}", *args]
    log("+ " + " ".join(cmd))
    proc = subprocess.run(cmd, text=True, capture_output=capture)
    if proc.returncode != 0:
        if capture:
            sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"terraform {args[0]} failed in {cwd} ({proc.returncode})")
    return proc.stdout if capture else ""


def client(service: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    custom = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(s3={"addressing_style": "path"} if custom else {}, retries={"max_attempts": 3})
    return boto3.client(service, region_name=region, config=config)


# ---------------------------------------------------------------- state


def managed_resources(state: dict[str, Any]) -> int:
    return sum(len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode", "managed") == "managed")


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


def environment_of(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if parts[0] == "environments" and len(parts) == 3 else None


def stack_dir(key: str, tf_dir: pathlib.Path) -> pathlib.Path | None:
    if key.split("/")[0] == "controlplane":
        return tf_dir / "controlplane"
    env = environment_of(key)
    return tf_dir / "environments" / env if env else None


def order(keys: list[str]) -> list[str]:
    """Environments first (dev, staging, others, prod last), then the control plane."""
    rank = {"dev": 0, "staging": 1, "prod": 3}

    def k(key: str) -> tuple[int, str]:
        if key.split("/")[0] == "controlplane":
            return (4, key)
        return (rank.get(environment_of(key) or "", 2), key)

    return sorted(keys, key=k)


# ---------------------------------------------------------------- what the control plane made


def live_services(ecs: Any, env: str) -> list[str]:
    """The control plane's ECS service of ``env`` if it still exists (ACTIVE or DRAINING), by ARN."""
    from botocore.exceptions import ClientError

    try:
        found = ecs.describe_services(cluster=f"ecommerce-{env}", services=[f"cart-service-{env}"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ClusterNotFoundException":
            return []
        raise
    return [s["serviceArn"] for s in found.get("services", []) if s.get("status") in LIVE]


class Unreachable(Exception):
    """The control plane's API cannot be used (no URL, no answer, no credentials, or it refuses)."""


class ControlPlaneApi:
    """The control plane's HTTP API, SigV4-signed with the operator's credentials (controlplane.aws.clients)."""

    def __init__(self, url: str, region: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.region = region
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = self.sign(method, self.url + path, data)
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                parsed = json.loads(raw or b"null")
            except ValueError:
                parsed = raw.decode(errors="replace")
            if err.code in (401, 403) or err.code >= 500:
                raise Unreachable(f"{method} {self.url}{path}: HTTP {err.code} {parsed}") from None
            return err.code, parsed
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"{method} {self.url}{path}: {exc}") from None

    def sign(self, method: str, url: str, data: bytes | None) -> dict[str, str]:
        """SigV4 for execute-api with the operator's credentials (botocore's chain: environment, profile, SSO, role)."""
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import BotoCoreError

        try:
            credentials = boto3.session.Session().get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials is not None else None
        except BotoCoreError as exc:
            raise Unreachable(f"AWS credentials could not be loaded: {exc}") from None
        if frozen is None or not frozen.access_key:
            raise Unreachable("no AWS credentials to sign the control plane's API requests with")
        request = AWSRequest(method=method, url=url, data=data or b"", headers={"Content-Type": "application/json"})
        SigV4Auth(frozen, "execute-api", self.region).add_auth(request)
        return {str(k): str(v) for k, v in request.headers.items()}

    def destroy(self, env: str) -> str | None:
        """Start the destroy; its operation id, or None when the control plane does not know the environment."""
        status, body = self.request("POST", f"/environments/{env}/destroy", {"confirm": env})
        if status == 404:
            return None
        if status not in (200, 202) or not isinstance(body, dict) or "id" not in body:
            raise Unreachable(f"destroy of {env} refused: HTTP {status} {body}")
        return str(body["id"])

    def wait(self, op_id: str, timeout: float, poll: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.request("GET", f"/operations/{op_id}")
            if status != 200 or not isinstance(body, dict):
                raise Unreachable(f"operation {op_id}: HTTP {status} {body}")
            if body.get("status") != "RUNNING":
                return body
            if time.monotonic() > deadline:
                raise Unreachable(f"operation {op_id} still running after {timeout:.0f}s")
            time.sleep(poll)


def destroy_through_controlplane(
    api: ControlPlaneApi | None, ecs: Any, environments: list[str], timeout: float, poll: float, why: str = ""
) -> None:
    """Step 1: each environment's control-plane-owned resources, through the control plane's destroy."""
    for env in environments:
        if api is None:
            running = live_services(ecs, env)
            if running:
                raise Refused(
                    f"environment {env} still runs {', '.join(running)}, which the control plane made, and its API "
                    f"is not available ({why or 'no URL'}). Apply terraform/controlplane again (or pass --api-url) "
                    "and rerun: destroying the environment now would fail on AWS and leave the service without "
                    "the tool that removes it."
                )
            log(f"{env}: no control-plane service runs; nothing to destroy through the control plane")
            continue
        try:
            op_id = api.destroy(env)
            if op_id is None:
                log(f"{env}: unknown to the control plane")
            else:
                log(f"{env}: destroy {op_id} started through the control plane; waiting")
                ended = api.wait(op_id, timeout, poll)
                if ended.get("status") != "SUCCEEDED":
                    raise Refused(
                        f"the control plane's destroy of {env} ({op_id}) ended {ended.get('status')}: "
                        f"{json.dumps(ended.get('error'))}. Fix it and rerun."
                    )
                log(f"{env}: destroyed through the control plane ({op_id})")
        except Unreachable as exc:
            running = live_services(ecs, env)
            if running:
                raise Refused(
                    f"environment {env} still runs {', '.join(running)}, and the control plane's API cannot destroy "
                    f"it ({exc}). Make the API reachable (terraform/controlplane, your credentials) and rerun."
                ) from None
            log(f"{env}: the API is not available ({exc}), but no control-plane service runs")
            continue
        running = live_services(ecs, env)
        if running:
            raise Refused(f"environment {env} still runs {', '.join(running)} after the control plane's destroy")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Destroy all stacks in order, then the backend; refuse when a step cannot run."
    )
    p.add_argument("--terraform-dir", type=pathlib.Path, default=TF_DIR)
    p.add_argument("--bucket", help="state bucket (default: backend output bucket_name)")
    p.add_argument("--region", help="state bucket region (default: backend output region)")
    p.add_argument("--kms-key-id", help="state key ARN (default: backend output kms_key_arn)")
    p.add_argument("--api-url", help="the control plane's API (default: the control plane stack's output api_url)")
    p.add_argument("--operation-timeout", type=float, default=1800.0, help="seconds to wait for each destroy")
    p.add_argument("--poll-seconds", type=float, default=5.0, help="how often to look at a running destroy")
    p.add_argument("--only-backend", action="store_true", help="destroy the backend only, if all state is empty")
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
    s3 = client("s3", region)

    remaining = stacks_with_state(s3, bucket)
    if args.check:
        for key, count in sorted(remaining.items()):
            print(f"{key}: {count} resource instance(s)")
        return REFUSED if remaining else 0

    if not args.yes:
        what = "the backend" if args.only_backend else "every environment, the control plane and the backend"
        answer = input(f"Destroy {what} ({bucket})? Type 'destroy': ")
        if answer.strip() != "destroy":
            log("aborted")
            return 1

    if not args.only_backend:
        keys = order(list(remaining))
        for key in keys:
            root = stack_dir(key, tf_dir)
            if root is None or not root.is_dir():
                raise Refused(f"{key} holds {remaining[key]} resource(s) but no root directory here manages it")

        def init(root: pathlib.Path, key: str) -> None:
            if not args.no_init:  # the state key too: a second stage of the control plane keeps its own
                terraform(
                    [
                        "init",
                        "-input=false",
                        "-reconfigure",
                        f"-backend-config=bucket={bucket}",
                        f"-backend-config=region={region}",
                        f"-backend-config=kms_key_id={kms_key_id}",
                        f"-backend-config=key={key}",
                    ],
                    root,
                )

        # 1. what the control plane made, through the control plane
        api_url, why = args.api_url, ""
        if not api_url and CONTROLPLANE_STATE in remaining:
            init(tf_dir / "controlplane", CONTROLPLANE_STATE)
            outputs = json.loads(terraform(["output", "-json"], tf_dir / "controlplane", capture=True) or "{}")
            api_url = outputs.get("api_url", {}).get("value")
        if not api_url:
            why = "the control plane stack has no state" if CONTROLPLANE_STATE not in remaining else "no api_url output"
        api = ControlPlaneApi(api_url, region) if api_url else None
        environments = [env for key in keys if (env := environment_of(key))]
        destroy_through_controlplane(
            api, client("ecs", region), environments, args.operation_timeout, args.poll_seconds, why
        )

        # 2. the environments, 3. the control plane
        for key in keys:
            root = stack_dir(key, tf_dir)
            assert root is not None
            init(root, key)
            terraform(["destroy", "-auto-approve", "-input=false"], root)
            log(f"destroyed {key}")
        remaining = stacks_with_state(s3, bucket)

    # 4. the backend, once nothing has state
    if remaining:
        listing = ", ".join(f"{k} ({n} resources)" for k, n in sorted(remaining.items()))
        raise Refused(
            f"state bucket {bucket} still holds state for: {listing}. Destroy those stacks first "
            "(run this script without --only-backend)."
        )

    removed = purge_state_objects(s3, bucket)
    log(f"removed {removed} empty state object version(s) from {bucket}")
    terraform(["destroy", "-auto-approve", "-input=false"], backend)
    log("backend destroyed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
