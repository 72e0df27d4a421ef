"""Command line: ``python -m controlplane sandbox`` serves the sandbox; ``python -m controlplane demo`` runs the demo."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from controlplane.sandbox.events import schedule_names


def _sandbox_args(p: argparse.ArgumentParser, aws_port: int, port: int) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: loopback only)")
    p.add_argument("--aws-port", type=int, default=aws_port, help=f"emulated AWS port (default {aws_port or 'free'})")
    p.add_argument("--port", type=int, default=port, help=f"control API port (default {port or 'free'})")
    p.add_argument("--deploy-seconds", type=float, default=3.0, help="how long an emulated ECS rollout takes")
    p.add_argument("--build-seconds", type=float, default=2.0, help="how long an emulated CodeBuild build takes")
    p.add_argument(
        "--region",
        default=None,
        help="region of the emulated AWS (default: AWS_REGION or AWS_DEFAULT_REGION, else eu-central-1)",
    )
    p.add_argument("--verbose", action="store_true", help="show the control plane's structured logs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controlplane", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox = sub.add_parser("sandbox", help="serve emulated AWS and the control API until stopped (Ctrl-C)")
    _sandbox_args(sandbox, 5000, 8000)
    actions = sandbox.add_subparsers(dest="action")
    fire = actions.add_parser("fire", help="fire a schedule now in a running sandbox, with the event its rule sends")
    fire.add_argument("schedule", choices=schedule_names(), help="which schedule")
    # SUPPRESS: the ports may also be given before "fire" (sandbox --port 8311 fire ...); those are kept.
    fire.add_argument("--host", default=argparse.SUPPRESS, help="the sandbox's address (default 127.0.0.1)")
    fire.add_argument("--aws-port", type=int, default=argparse.SUPPRESS, help="emulated AWS port (default 5000)")
    fire.add_argument("--port", type=int, default=argparse.SUPPRESS, help="control API port (default 8000)")
    demo = sub.add_parser("demo", help="run the whole lifecycle in a fresh sandbox and check it")
    _sandbox_args(demo, 0, 0)
    gen = sub.add_parser("generate", help="write the state machines and the Chalice config from their declarations")
    gen.add_argument("--check", action="store_true", help="only check that the committed files are up to date")
    args = parser.parse_args(argv)
    if args.command == "generate":
        from controlplane.generate import main as generate

        return generate(check=args.check)
    if args.command == "demo":
        from controlplane.demo import run_demo

        return run_demo(args)
    if getattr(args, "action", None) == "fire":
        return fire_schedule(args)
    return serve(args)


def fire_schedule(args: argparse.Namespace) -> int:
    """Invoke the schedule's function in the running sandbox (moto's Lambda API) with a scheduled event."""
    import json
    import urllib.request

    from controlplane.aws import clients
    from controlplane.sandbox import events
    from controlplane.sandbox.seed import SANDBOX_STAGE
    from controlplane.sandbox.server import FAKE_CREDENTIALS, sandbox_region

    api = f"http://{args.host}:{args.port}/health"
    try:
        urllib.request.urlopen(api, timeout=5).read()
    except OSError as exc:
        print(
            f"error: no sandbox answers at {api} ({exc}); start one with: python -m controlplane sandbox",
            file=sys.stderr,
        )
        return 2
    os.environ.update(FAKE_CREDENTIALS)
    endpoint, region = f"http://{args.host}:{args.aws_port}", sandbox_region(getattr(args, "region", None))

    def make(service: str) -> Any:
        return clients.client(service, region=region, endpoint_url=endpoint)

    account = make("sts").get_caller_identity()["Account"]
    result, failed = events.fire_schedule(make, account, region, f"cart-controlplane-{SANDBOX_STAGE}-", args.schedule)
    print(json.dumps(result, indent=2))
    return 1 if failed else 0


def serve(args: argparse.Namespace) -> int:
    from controlplane.sandbox.server import PortInUse, Sandbox

    box = Sandbox.from_args(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        box.start()
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Cart Service control plane sandbox\n"
        f"  control API   {box.api_endpoint}   (try: curl {box.api_endpoint}/environments)\n"
        f"  emulated AWS  {box.aws_endpoint}   (try: aws --endpoint-url {box.aws_endpoint} ecs list-clusters)\n"
        f"  environments  dev, staging, prod (base infrastructure seeded as Terraform would)\n"
        f"  note          IAM auth is not enforced locally (Chalice local fails open); in AWS every route\n"
        f"                but /health needs SigV4. Emulated: Lambda in-process, ECS rollouts, CodeBuild,\n"
        f"                EventBridge (ECR push, ECS deployment and CodeBuild events reach the app's handlers).\n"
        f"  schedules     python -m controlplane sandbox fire nightly-teardown|morning-restore|teardown-reminder\n"
        f"Stop with Ctrl-C.",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        print("stopping sandbox ...", flush=True)
        box.stop()
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
