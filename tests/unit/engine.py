"""An in-memory control plane for the engine's unit tests: the real use cases and step runner wired to fakes, and
a driver that plays the state machine's part (run a phase, resume a parked token with the event's result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controlplane.container import Container, wire
from controlplane.domain.events import build_key, deployment_key
from controlplane.domain.flows import FLOWS, PHASES, StepKind, next_phase
from controlplane.domain.model import Operation, OpKind
from controlplane.settings import Settings
from controlplane.steps import run_step
from controlplane.store.memory import MemoryRegistry
from controlplane.waits import Outcome
from tests.fakes import Clock, FakeExecutor, FakeNotifier, FakePlatform, FakeSender, contract

SETTINGS = Settings(
    stage="test",
    region="eu-central-1",
    registry_table="t",
    state_machine_prefix="arn:aws:states:eu-central-1:123456789012:stateMachine:cart-controlplane-test-",
    contract_prefix="/cart-service",
    wait_interval_seconds=1,
    wait_timeout_seconds=60,
    lock_margin_seconds=60,
)


@dataclass
class Engine:
    """One environment (dev unless told) Terraform published, provisioned by nothing yet."""

    envs: tuple[tuple[str, str], ...] = (("dev", "dev"),)
    clock: Clock = field(default_factory=Clock)
    registry: MemoryRegistry = field(default_factory=MemoryRegistry)
    executor: FakeExecutor = field(default_factory=FakeExecutor)
    sender: FakeSender = field(default_factory=FakeSender)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)

    def __post_init__(self) -> None:
        self.platform = FakePlatform(*(contract(name, tier) for name, tier in self.envs))
        self.c: Container = wire(
            SETTINGS, self.registry, self.platform, self.executor, self.sender, self.clock, self.notifier
        )
        self.c.environments.discover()
        self.tokens = 0

    # starting ---------------------------------------------------------------------------------------------
    def submit(
        self, kind: str, env: str = "dev", body: Any = None, key: str | None = None
    ) -> tuple[Operation, dict[str, Any]]:
        op, _ = self.c.api.submit(OpKind(kind), env, body if body is not None else {}, key)
        payload = next(p for _, name, p in reversed(self.executor.started) if name == op.id)
        return op, payload

    def op(self, op_id: str) -> Operation:
        return self.c.operations.get(op_id)

    # playing the state machine -----------------------------------------------------------------------------
    def token(self) -> str:
        self.tokens += 1
        return f"token-{self.tokens}"

    def step(self, name: str, state: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Run one phase; (next state, the parked token or None)."""
        token = self.token() if PHASES[name].kind is StepKind.TOKEN else None
        out = run_step(self.c.deps, name, state, token)
        return out, token

    def resume(self, state: dict[str, Any], name: str, token: str) -> dict[str, Any]:
        """The token's success output, placed where the state machine puts it (ResultPath $.ctx.<phase>)."""
        kind, _, output = next(s for s in reversed(self.sender.sent) if s[1] == token)
        assert kind == "success", f"{token} was failed: {output}"
        return {**state, "ctx": {**state.get("ctx", {}), name: output}}

    def rollout_completes(self, env: str = "dev", ok: bool = True) -> None:
        dep = self.platform.complete(env, ok)
        self.c.waits.resolve(
            deployment_key(dep), Outcome(ok, "" if ok else "DeploymentFailed", "completed" if ok else "circuit breaker")
        )

    def run(self, kind: str, env: str = "dev", body: Any = None) -> Operation:
        """Play a whole flow to its end, completing every rollout and build as it is started."""
        op, state = self.submit(kind, env, body)
        name: str | None = FLOWS[OpKind(kind)].phases[0]
        while name is not None:
            state, token = self.step(name, state)
            if token is not None:
                if name == "rollout":
                    self.rollout_completes(env)
                elif name == "build":
                    rec = self.op(op.id).step("build")
                    assert rec is not None
                    build_id, tag = str(rec.detail["build_id"]), str(rec.detail["image_tag"])
                    self.platform.finish_build(build_id, self.platform.contracts_[env], tag)
                    self.c.waits.resolve(build_key(build_id), Outcome(True, message="built"))
                state = self.resume(state, name, token)
            elif state.get("step", {}).get("result") == "poll":
                if name == "drain":
                    self.platform.drained(env)
                if name == "delete_service":
                    self.platform.services[env].status = "INACTIVE"
                continue
            name = None if name == "finish" else next_phase(OpKind(kind), name, state.get("ctx"))
        return self.op(op.id)
