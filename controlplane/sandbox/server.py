"""Run the sandbox: moto's server with the emulation, the seeded world, and the control API on loopback."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import urllib.request
import warnings
from dataclasses import dataclass, field
from typing import Any

from controlplane import container
from controlplane.aws import clients
from controlplane.observability import configure
from controlplane.sandbox import emulation
from controlplane.sandbox.events import EventRouter, fire_schedule
from controlplane.sandbox.seed import World, seed_all
from controlplane.settings import DEFAULT_REGION

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_SESSION_TOKEN": "sandbox"}


def sandbox_region(flag: str | None = None) -> str:
    """--region, else the standard variables (as the AWS CLI reads them), else the project's default."""
    return flag or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


class PortInUse(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port(host: str, port: int, flag: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise PortInUse(f"{host}:{port} is already in use; choose another with {flag}") from None


@dataclass
class Sandbox:
    host: str = "127.0.0.1"
    aws_port: int = 5000
    api_port: int = 8000
    region: str = field(default_factory=sandbox_region)
    deploy_seconds: float = 3.0
    build_seconds: float = 2.0
    drain_seconds: float = 1.0
    wait_interval: int = 1
    wait_timeout: int = 300
    log_level: str = "WARNING"
    reconcile_seconds: float = 30.0  # the reconcile schedule, as the sandbox fires it (0: never)
    world: World | None = None
    emulator: emulation.Emulator | None = None
    router: EventRouter | None = None
    _moto: Any = None
    _api: Any = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _saved_env: dict[str, str] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_args(cls, args: Any) -> Sandbox:
        """From the command line's --host, --aws-port, --port, --region, --deploy-seconds, --build-seconds and
        --verbose."""
        return cls(
            host=args.host,
            aws_port=args.aws_port,
            api_port=args.port,
            region=sandbox_region(getattr(args, "region", None)),
            deploy_seconds=args.deploy_seconds,
            build_seconds=args.build_seconds,
            log_level="INFO" if getattr(args, "verbose", False) else "WARNING",
        )

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def api_endpoint(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    def client(self, service: str) -> Any:
        return clients.client(service, region=self.region, endpoint_url=self.aws_endpoint)

    def fire_schedule(self, name: str) -> tuple[Any, bool]:
        """Fire a schedule now and wait for its function: (what it returned, whether it raised)."""
        assert self.world is not None, "start the sandbox first"
        return fire_schedule(self.client, self.world.account, self.region, self.world.function_prefix, name)

    def start(self) -> World:
        if self.aws_port == 0:
            self.aws_port = free_port(self.host)
        if self.api_port == 0:
            self.api_port = free_port(self.host)
        check_port(self.host, self.aws_port, "--aws-port")
        check_port(self.host, self.api_port, "--port")
        self._saved_env = dict(os.environ)  # restored by stop(): an in-process sandbox leaves no endpoint behind
        os.environ.update(FAKE_CREDENTIALS)
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_ENDPOINT_URL": self.aws_endpoint,
                "MOTO_PORT": str(self.aws_port),
                "MOTO_HOST": self.host,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": self.log_level,
            }
        )
        configure(level=self.log_level, metrics_on=False)
        self.emulator = emulation.install(
            emulation.Emulator(self.deploy_seconds, self.build_seconds, self.drain_seconds)
        )
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if self.log_level != "INFO":  # the emulated Step Functions logs every failed state it evaluates
            logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # Chalice local cannot enforce IAM auth (it fails open); the sandbox says so in its banner and README.
        warnings.filterwarnings("ignore", message="IAMAuthorizer is not a supported in local mode")

        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        self._moto.start()
        request = urllib.request.Request(
            f"{self.aws_endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).read()
        self.world = seed_all(
            self.client, self.region, wait_interval=self.wait_interval, wait_timeout=self.wait_timeout
        )
        os.environ.update(self.world.env_vars)
        self.router = EventRouter(self.client, self.world.function_prefix, self.world.account, self.region)
        self.emulator.listeners.append(self.router.on_emulated)
        container.reset()
        container.current().environments.discover()  # what the reconcile schedule does at its first run
        self._start_api()
        self.emulator.start_ticker()
        if self.reconcile_seconds > 0:
            self._start_schedule("reconcile", self.reconcile_seconds)
        return self.world

    def _start_schedule(self, name: str, every: float) -> None:
        """Fire a schedule's rule on a timer, as EventBridge Scheduler would (the others fire on demand)."""

        def loop() -> None:
            while not self._stop.wait(every):
                if self.router is not None:
                    self.router.fire(name)

        thread = threading.Thread(target=loop, name=f"sandbox-schedule-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_api(self) -> None:
        from chalice.config import Config
        from chalice.local import (
            ChaliceRequestHandler,
            CustomLocalChalice,
            LocalChalice,
            LocalDevServer,
            ThreadedHTTPServer,
        )

        import app as chalice_app
        from controlplane.entrypoints.api import envelope

        class QuietHandler(ChaliceRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send_error_response(self, error: Any) -> None:
                """API Gateway's own refusals (403 for a path no route has, ...) in the API's error envelope,
                as the gateway responses Terraform configures render them in AWS."""
                try:
                    parsed = json.loads(error.body or b"{}")
                except ValueError:
                    parsed = {}
                wrapped = envelope(parsed, int(error.CODE))
                if wrapped is not None:
                    error.body = json.dumps(wrapped).encode()
                super()._send_error_response(error)

        class Server(ThreadedHTTPServer):
            request_queue_size = 128  # the stdlib default (5) resets bursts of concurrent clients
            daemon_threads = True

        app_obj = chalice_app.app
        if not isinstance(app_obj, LocalChalice):  # what chalice.local.create_local_server does, once
            CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
            app_obj.__class__ = CustomLocalChalice
        config = Config.create(chalice_stage="sandbox", app_name=app_obj.app_name)
        self._api = LocalDevServer(
            app_obj, config, self.host, self.api_port, handler_cls=QuietHandler, server_cls=Server
        )
        thread = threading.Thread(target=self._api.server.serve_forever, name="control-api", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        if self.emulator is not None:
            self.emulator.stop_ticker()
            if self.router is not None and self.router.on_emulated in self.emulator.listeners:
                self.emulator.listeners.remove(self.router.on_emulated)
        if self.router is not None:
            self.router.stop()
        if self._api is not None:
            self._api.server.shutdown()
            self._api.server.server_close()
            self._api = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._saved_env is not None:
            os.environ.clear()
            os.environ.update(self._saved_env)
            self._saved_env = None
