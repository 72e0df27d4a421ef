"""Emulated AWS alone: moto's server with the sandbox's emulation, and nothing seeded.

    python -m controlplane.sandbox.aws_server --port 5055 [--host 127.0.0.1] [--deploy-seconds 1]

For tools that create the world themselves (Terraform's integration test applies the base with it, then
deploys the control plane into it). Lambda functions run in this process, so the control plane's settings
(REGISTRY_TABLE, STATE_MACHINE_PREFIX, ...) come from this process's environment. Stops on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.request
from types import FrameType
from typing import Any

from controlplane.aws import clients
from controlplane.sandbox import emulation
from controlplane.sandbox.events import EventRouter
from controlplane.sandbox.seed import SANDBOX_STAGE
from controlplane.settings import DEFAULT_REGION


def start_emulated_aws(host: str, port: int, emulator: emulation.Emulator) -> Any:
    """Start moto's threaded server with the emulation installed and real ASL execution turned on."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("MOTO_PORT", str(port))
    os.environ.setdefault("MOTO_HOST", host)
    emulation.install(emulator)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    request = urllib.request.Request(
        f"http://{host}:{port}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()
    emulator.start_ticker()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deploy-seconds", type=float, default=1.0)
    parser.add_argument("--build-seconds", type=float, default=0.5)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ENDPOINT_URL", f"http://{args.host}:{args.port}")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    emulator = emulation.Emulator(args.deploy_seconds, args.build_seconds, drain_seconds=0.5)
    server = start_emulated_aws(args.host, args.port, emulator)
    # Events (ECR pushes, ECS deployment and CodeBuild state changes) reach the handlers of the control plane
    # deployed under CONTROLPLANE_STAGE, as EventBridge rules would deliver them (moto cannot target Lambda).
    endpoint = f"http://{args.host}:{args.port}"
    stage = os.environ.get("CONTROLPLANE_STAGE", SANDBOX_STAGE)
    router = EventRouter(
        lambda service: clients.client(service, region=region, endpoint_url=endpoint),
        f"cart-controlplane-{stage}-",
        os.environ.get("MOTO_ACCOUNT_ID", "123456789012"),
        region,
    )
    emulator.listeners.append(router.on_emulated)
    print(f"emulated AWS on {endpoint} (events routed to cart-controlplane-{stage}-*)", flush=True)
    while not stop.wait(0.5):
        pass
    router.stop()
    emulator.stop_ticker()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
