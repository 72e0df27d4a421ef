#!/usr/bin/env python3
"""CodePipeline hand-off stage: ask the control plane to deploy the image the Build stage pushed.

Runs in the `cart-service-<env>-pipeline-handoff` CodeBuild project (buildspec: modules/cicd/buildspecs/handoff.yml).
It signs `POST $CONTROLPLANE_API_URL/environments/$ENVIRONMENT/deployments` with SigV4 (service execute-api, the
CodeBuild role's credentials) and sends {"image_digest": "sha256:..."}: the deploy state machine pins the task
definition to that digest. The Idempotency-Key header is the commit + digest, so a retried stage does not start a
second deploy. Exits non-zero unless the control plane answers 2xx.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


def build_request(api_url: str, environment: str, image_detail: dict[str, str], commit: str) -> tuple[str, bytes, dict]:
    image_uri = image_detail["ImageURI"]
    if "@sha256:" not in image_uri:
        raise SystemExit(f"imageDetail.json has no digest: {image_uri!r}")
    digest = image_uri.split("@", 1)[1]
    url = f"{api_url.rstrip('/')}/environments/{environment}/deployments"
    body = json.dumps({"image_digest": digest}).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"pipeline-{commit[:12]}-{digest[7:19]}"}
    return url, body, headers


def sign(url: str, body: bytes, headers: dict, region: str) -> dict:
    import botocore.session  # available in the CodeBuild image (installed by the buildspec)
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = botocore.session.Session().get_credentials()
    if credentials is None:
        raise SystemExit("no AWS credentials to sign the request with")
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-detail", required=True, help="imageDetail.json written by the Build stage")
    parser.add_argument("--api-url", default=os.environ.get("CONTROLPLANE_API_URL", ""))
    parser.add_argument("--environment", default=os.environ.get("ENVIRONMENT", ""))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "")))
    parser.add_argument("--commit", default=os.environ.get("CODEBUILD_RESOLVED_SOURCE_VERSION", "manual"))
    parser.add_argument("--dry-run", action="store_true", help="print the request instead of sending it")
    args = parser.parse_args(argv)

    if not args.api_url or not args.environment:
        print("CONTROLPLANE_API_URL and ENVIRONMENT are required", file=sys.stderr)
        return 2
    with open(args.image_detail, encoding="utf-8") as fh:
        detail = json.load(fh)
    url, body, headers = build_request(args.api_url, args.environment, detail, args.commit)
    if args.dry_run:
        print(json.dumps({"url": url, "body": json.loads(body), "headers": headers}))
        return 0
    signed = sign(url, body, headers, args.region)
    req = urllib.request.Request(url, data=body, headers=signed, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            print(resp.status, resp.read().decode())
            return 0
    except urllib.error.HTTPError as exc:
        print(f"control plane refused the deploy: {exc.code} {exc.read().decode()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
