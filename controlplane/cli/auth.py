"""SigV4 for the control API: the region to sign for, and a signer over botocore's credential chain.

botocore is imported only through ``controlplane.aws.clients``, and only when a request is signed.
"""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from controlplane.cli.errors import AuthFailed

# https://{api-id}.execute-api.{region}.amazonaws.com and the private form {api-id}-{vpce-id}.execute-api.{region}.vpce...
_EXECUTE_API = re.compile(r"\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$")
SANDBOX_REGION = "eu-central-1"  # the sandbox's default region (it accepts any signature)


def region_from_host(endpoint: str) -> str | None:
    """The region an execute-api hostname names, or None for any other host (a custom domain, the sandbox)."""
    match = _EXECUTE_API.search((urlsplit(endpoint).hostname or "").lower())
    return match.group(1) if match else None


def is_local(endpoint: str) -> bool:
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def signing_region(endpoint: str, explicit: str | None) -> str | None:
    """--region wins; then the region in an execute-api hostname (API Gateway rejects a signature made for any
    other); then None: botocore's own lookup (AWS_REGION, AWS_DEFAULT_REGION, the profile). The sandbox on
    loopback accepts any signature, so with no region configured it signs for us-east-1."""
    if explicit:
        return explicit
    from_host = region_from_host(endpoint)
    if from_host:
        return from_host
    if is_local(endpoint) and not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        return SANDBOX_REGION
    return None


class Signer:
    """Signs each request (service ``execute-api``) with the credentials of ``profile`` (or the default chain)."""

    def __init__(self, endpoint: str, region: str | None = None, profile: str | None = None) -> None:
        self.endpoint = endpoint
        self.region = signing_region(endpoint, region)
        self.profile = profile

    def describe(self) -> str:
        profile = self.profile or os.environ.get("AWS_PROFILE") or "default credential chain"
        region = self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "profile's"
        return f"signed with {profile}, region {region}"

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        from controlplane.aws import clients

        try:
            return clients.sign_request(method, url, headers, body, region=self.region, profile=self.profile)
        except clients.SigningUnavailable as exc:
            if is_local(self.endpoint):  # the local sandbox checks no signature: without credentials, go unsigned
                return headers
            hint = "configure credentials (aws configure, aws sso login, AWS_PROFILE or --profile)"
            raise AuthFailed(f"cannot sign the request to {self.endpoint}: {exc}", hint=hint) from None
