"""Run the control plane (deployed into the emulated AWS) against an environment that something else created.

Used by the Terraform integration test: Terraform applies dev's base and publishes the contract; then this
deploys the control plane (registry, Lambdas, state machines) into the same emulated AWS, provisions dev through
its real state machines, checks the service, destroys dev, and checks nothing the control plane made remains.
The emulated AWS must be `python -m controlplane.sandbox.aws_server` started with `server_env()` in its
environment, because Lambda steps run inside that process.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3

STAGE = "tf"
ACCOUNT = "123456789012"  # moto's default account
DEFAULT_REGION = "eu-central-1"


def server_env(endpoint: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """What the emulated AWS process needs in its environment to run the control plane's Lambda steps."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CONTROLPLANE_STAGE": STAGE,
        "REGISTRY_TABLE": f"cart-controlplane-{STAGE}-registry",
        "STATE_MACHINE_PREFIX": f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:cart-controlplane-{STAGE}-",
        "CONTRACT_PARAMETER_PREFIX": "/cart-service",
        "WAIT_INTERVAL_SECONDS": "1",
        "WAIT_TIMEOUT_SECONDS": "120",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


def run_controlplane(endpoint: str, environment: str, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """Deploy the control plane into `endpoint`, provision then destroy `environment`; return what was seen."""
    from controlplane import container
    from controlplane.domain.model import OpKind, OpStatus
    from controlplane.sandbox.seed import seed_controlplane
    from controlplane.settings import Settings

    env = server_env(endpoint, region)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:

        def make(service: str) -> Any:
            return boto3.client(service, region_name=region, endpoint_url=endpoint)

        seed_controlplane(make, STAGE, env["REGISTRY_TABLE"], env)
        box = container.build(Settings.from_env(env))
        svc = box.service

        def run(kind: OpKind, body: dict[str, Any]) -> Any:
            op, _ = svc.start(kind, environment, body)
            deadline = time.time() + 180
            while (current := svc.get_operation(op.id)).status is OpStatus.RUNNING:
                assert time.time() < deadline, f"{kind.value} still running"
                time.sleep(0.2)
            return current

        provision = run(OpKind.PROVISION, {"source_version": "tf-1"})
        assert provision.status is OpStatus.SUCCEEDED, provision.error
        contract = box.platform.read_contract(environment)
        service = box.platform.describe_service(contract.cluster_name, contract.service_name) or {}
        destroy = run(OpKind.DESTROY, {})
        assert destroy.status is OpStatus.SUCCEEDED, destroy.error
        return {
            "provision": provision,
            "service": service,
            "destroy": destroy,
            "leftovers": box.platform.inventory(contract).leftovers() + box.platform.tagged_leftovers(contract),
        }
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
