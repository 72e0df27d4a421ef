"""Run the control plane (deployed into the emulated AWS) against an environment that something else created.

Used by the Terraform integration test: Terraform applies dev's base and publishes the contract; then this
deploys the control plane (registry, Lambdas, state machines) into the same emulated AWS, serves its HTTP API on
loopback (for terraform/scripts/destroy_all.py) and provisions dev through its real state machines. The emulated
AWS must be `python -m controlplane.sandbox.aws_server` started with `server_env()` in its environment, because
Lambda steps run inside that process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass
class Running:
    box: Any  # controlplane.container.Container
    api_url: str  # the control plane's HTTP API on loopback (Chalice local: IAM auth is not enforced)


def _serve_api() -> tuple[Any, str]:
    from chalice.config import Config
    from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer

    import app as chalice_app

    app_obj = chalice_app.app
    if not isinstance(app_obj, LocalChalice):  # what chalice.local.create_local_server does, once
        CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
        app_obj.__class__ = CustomLocalChalice
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])

    class Quiet(ChaliceRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    config = Config.create(chalice_stage=STAGE, app_name=app_obj.app_name)
    server = LocalDevServer(app_obj, config, "127.0.0.1", port, handler_cls=Quiet)
    threading.Thread(target=server.server.serve_forever, name="controlplane-api", daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def controlplane_in(endpoint: str, region: str = DEFAULT_REGION) -> Iterator[Running]:
    """Deploy the control plane into `endpoint` and serve its API until the block ends."""
    from controlplane import container
    from controlplane.sandbox.seed import seed_controlplane
    from controlplane.settings import Settings

    env = server_env(endpoint, region)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    server = None
    try:

        def make(service: str) -> Any:
            return boto3.client(service, region_name=region, endpoint_url=endpoint)

        seed_controlplane(make, STAGE, env["REGISTRY_TABLE"], env)
        box = container.build(Settings.from_env(env))
        container.reset(box)
        server, url = _serve_api()
        yield Running(box, url)
    finally:
        if server is not None:
            server.server.shutdown()
            server.server.server_close()
        container.reset()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def provision(running: Running, environment: str) -> dict[str, Any]:
    """Provision `environment` through the control plane's state machines; what it then runs."""
    from controlplane.domain.model import OpKind, OpStatus

    box = running.box
    op, _ = box.api.submit(OpKind.PROVISION, environment, {"source_version": "tf-1"})
    deadline = time.time() + 180
    while (current := box.operations.get(op.id)).status is OpStatus.RUNNING:
        assert time.time() < deadline, "provision still running"
        time.sleep(0.2)
    assert current.status is OpStatus.SUCCEEDED, current.error
    contract = running.box.platform.read_contract(environment)
    return {
        "provision": current,
        "contract": contract,
        "service": running.box.platform.describe_service(contract) or {},
    }


def leftovers(running: Running, environment: str, contract: Any) -> list[str]:
    """What the control plane made for `environment` that still exists."""
    platform = running.box.platform
    return list(platform.inventory(contract).leftovers()) + list(platform.tagged_leftovers(contract))
