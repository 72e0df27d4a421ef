"""Runtime settings, read once from the environment (frozen)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from controlplane.deployment import NIGHTLY_TEARDOWN_RULE, RULES

DEFAULT_REGION = "eu-central-1"
DEFAULT_BATCH_CONCURRENCY = 16  # environments a nightly teardown or morning restore runs at once (its Map)
MAX_BATCH_CONCURRENCY = 40  # Step Functions runs up to 40 Map iterations at once in an inline Map
NIGHTLY_TEARDOWN_SCHEDULE = str(RULES[NIGHTLY_TEARDOWN_RULE].schedule_expression)  # Terraform may override it


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    registry_table: str
    state_machine_prefix: str  # empty: derived from the account at first use
    contract_prefix: str
    wait_interval_seconds: int
    wait_timeout_seconds: int
    lock_margin_seconds: int
    batch_concurrency: int = DEFAULT_BATCH_CONCURRENCY
    morning_restore_enabled: bool = True
    nightly_teardown_schedule: str = NIGHTLY_TEARDOWN_SCHEDULE
    # The environments this stage manages (CONTROLPLANE_ENVIRONMENTS, comma-separated; Terraform sets it from the
    # stage's declared list, which its IAM policy is scoped to). Empty: every contract under the prefix.
    environments: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        stage = e.get("CONTROLPLANE_STAGE", "dev")
        return cls(
            stage=stage,
            region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            registry_table=e.get("REGISTRY_TABLE", f"cart-controlplane-{stage}-registry"),
            state_machine_prefix=e.get("STATE_MACHINE_PREFIX", ""),
            contract_prefix=e.get("CONTRACT_PARAMETER_PREFIX", "/cart-service"),
            wait_interval_seconds=int(e.get("WAIT_INTERVAL_SECONDS", "10")),
            wait_timeout_seconds=int(e.get("WAIT_TIMEOUT_SECONDS", "1800")),
            lock_margin_seconds=int(e.get("LOCK_MARGIN_SECONDS", "300")),
            batch_concurrency=max(
                1, min(MAX_BATCH_CONCURRENCY, int(e.get("BATCH_CONCURRENCY", DEFAULT_BATCH_CONCURRENCY)))
            ),
            morning_restore_enabled=e.get("MORNING_RESTORE_ENABLED", "true").lower() != "false",
            nightly_teardown_schedule=e.get("NIGHTLY_TEARDOWN_SCHEDULE", NIGHTLY_TEARDOWN_SCHEDULE),
            environments=tuple(n.strip() for n in e.get("CONTROLPLANE_ENVIRONMENTS", "").split(",") if n.strip()),
        )

    def state_machine_prefix_for(self, account_id: str) -> str:
        if self.state_machine_prefix:
            return self.state_machine_prefix
        return f"arn:aws:states:{self.region}:{account_id}:stateMachine:cart-controlplane-{self.stage}-"
