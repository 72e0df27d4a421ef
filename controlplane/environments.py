"""Environments: the registry's view of what Terraform published and what users set.

Environments exist where Terraform published a contract (``/cart-service/<env>/contract``): the reconcile
schedule discovers them, and a write to an environment the registry does not know yet discovers it first. The
tier comes from the contract: a PUT can neither change nor lower it, and turning ``protected`` off needs the same
typed confirmation as a destroy. Reads never write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from controlplane.domain import validation as v
from controlplane.domain.contract import Contract
from controlplane.domain.model import Environment, EnvSettings, EnvStatus, Tier, default_settings
from controlplane.domain.plans import destroy_plan
from controlplane.domain.rollout import service_state
from controlplane.domain.schedule import keep_alive_request
from controlplane.domain.times import iso
from controlplane.errors import (
    BaseInfrastructureMissing,
    ConfirmationRequired,
    Conflict,
    NotFound,
    StaleVersion,
    TransientError,
    ValidationFailed,
)
from controlplane.observability import logger
from controlplane.ports import BadCursor, Clock, EnvironmentMissing, Page, Platform, Registry, VersionConflict

SETTINGS_RETRIES = 3


def invalid(exc: Exception) -> ValidationFailed:
    return ValidationFailed(str(exc))


def _contract_tier(tier: Tier) -> Callable[[Environment], tuple[Tier, str, EnvSettings]]:
    """A settings change that takes the tier Terraform published, keeping the user's settings."""
    return lambda env: (tier, "contract", env.settings)


class Environments:
    def __init__(self, registry: Registry, platform: Platform, clock: Clock = time.time) -> None:
        self.registry, self.platform, self.clock = registry, platform, clock

    # reads ----------------------------------------------------------------------------------------------------
    def list(self, limit: int, cursor: str | None) -> Page[Environment]:
        try:
            return self.registry.list_environments(limit, cursor)
        except BadCursor as exc:
            raise invalid(exc) from None

    def get(self, name: str) -> Environment:
        try:
            v.check_name(name)
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        env = self.registry.get_environment(name)
        if env is None:
            raise NotFound(f"environment {name!r} does not exist (no contract published, none created)")
        return env

    # discovery --------------------------------------------------------------------------------------------------
    def _contract(self, name: str) -> Contract | None:
        try:
            return self.platform.read_contract(name)
        except BaseInfrastructureMissing:
            return None

    def resolve(self, name: str) -> Environment:
        """The environment, discovered from its contract if the registry does not know it yet (writes use it)."""
        try:
            v.check_name(name)
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        env = self.registry.get_environment(name)
        if env is not None:
            return env
        k = self._contract(name)
        if k is None:
            raise NotFound(f"environment {name!r} does not exist: no contract published, none created")
        self._adopt(k)
        return self.get(name)

    def _adopt(self, k: Contract) -> bool:
        tier = Tier(k.tier) if k.tier in {t.value for t in Tier} else Tier.PROD
        env = Environment(
            name=k.environment,
            tier=tier,
            tier_source="contract",
            settings=default_settings(k.environment, tier),
            updated_at=self.clock(),
        )
        return self.registry.create_environment(env)

    def discover(self) -> dict[str, Any]:
        """Register every environment Terraform published; a contract's tier replaces the registry's."""
        added, retiered = [], []
        for name, k in sorted(self.platform.contracts().items()):
            if self._adopt(k):
                added.append(name)
                continue
            env = self.registry.get_environment(name)
            if env is not None and (env.tier.value != k.tier or env.tier_source != "contract"):
                self._write_settings(name, _contract_tier(Tier(k.tier)))
                retiered.append(name)
        return {"added": added, "tier_from_contract": retiered}

    # settings -----------------------------------------------------------------------------------------------
    def put(self, name: str, body: Any, if_match: int | None = None) -> tuple[Environment, bool]:
        """Create (tier required unless Terraform published one) or update an environment's settings."""
        try:
            v.check_name(name)
            body = v.check_object(body)
            confirm = v.confirmation(body)
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        k = self._contract(name)
        current = self.registry.get_environment(name)
        if current is None:
            return self._create(name, body, k), True

        def change(env: Environment) -> tuple[Tier, str, Any]:
            try:
                tier, settings = v.settings_request(body, env.settings, env.tier)
            except v.InvalidInput as exc:
                raise invalid(exc) from None
            source = env.tier_source
            if k is not None and tier.value != k.tier:
                raise Conflict(
                    f"the tier of {name!r} comes from its Terraform contract ({k.tier}); change it there",
                    tier=k.tier,
                )
            if tier is not env.tier and env.status not in (EnvStatus.ABSENT, EnvStatus.DESTROYED):
                raise Conflict(
                    f"the tier of {name!r} can only change while it is absent or destroyed (it is {env.status.value})"
                )
            if env.settings.protected and not settings.protected and confirm != name:
                raise ConfirmationRequired(
                    f'turning protection off on {name!r} needs {{"confirm": "{name}"}} in the body, as a destroy does'
                )
            return tier, "contract" if k is not None else source, settings

        if if_match is not None and current.version != if_match:
            raise StaleVersion(
                f"environment {name!r} is at version {current.version}, not {if_match}", version=current.version
            )
        return self._write_settings(name, change, expected=if_match), False

    def _create(self, name: str, body: dict[str, Any], k: Contract | None) -> Environment:
        try:
            if k is None and "tier" not in body:
                raise v.InvalidInput("tier is required to create an environment (dev, staging or prod)")
            tier = Tier(k.tier) if k is not None else v.check_tier(body["tier"])
            if "tier" in body and v.check_tier(body["tier"]) is not tier:
                raise Conflict(
                    f"the tier of {name!r} comes from its Terraform contract ({tier.value})", tier=tier.value
                )
            tier, settings = v.settings_request(body, default_settings(name, tier), tier)
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        env = Environment(
            name=name,
            tier=tier,
            tier_source="contract" if k is not None else "request",
            settings=settings,
            updated_at=self.clock(),
        )
        if not self.registry.create_environment(env):
            raise Conflict(f"environment {name!r} was created concurrently; retry")
        return self.get(name)

    def _write_settings(self, name: str, change: Any, expected: int | None = None) -> Environment:
        """Read, change, write conditional on the version read; a concurrent write (an operation's) re-reads."""
        for _ in range(SETTINGS_RETRIES):
            env = self.get(name)
            if expected is not None and env.version != expected:
                raise StaleVersion(f"environment {name!r} changed (version {env.version})", version=env.version)
            tier, source, settings = change(env)
            try:
                return self.registry.update_settings(name, tier, source, settings, env.version, self.clock())
            except VersionConflict:
                if expected is not None:
                    raise StaleVersion(f"environment {name!r} changed meanwhile; read it again") from None
                continue
            except EnvironmentMissing:
                raise NotFound(f"environment {name!r} does not exist") from None
        raise Conflict(f"environment {name!r} kept changing; retry")

    # keep-alive -------------------------------------------------------------------------------------------------
    def keep_alive(self, name: str, body: Any) -> dict[str, Any]:
        env = self.resolve(name)
        try:
            until = keep_alive_request(body, self.clock())
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        self.registry.set_keep_alive(env.name, until, self.clock())
        return {"environment": env.name, "keep_alive_until": iso(until)}

    def end_keep_alive(self, name: str) -> dict[str, Any]:
        env = self.get(name)
        if not self.registry.set_keep_alive(env.name, None, self.clock()):
            raise NotFound(f"environment {name!r} has no keep-alive")
        return {"environment": env.name, "keep_alive_until": None}

    # plans and reconcile ------------------------------------------------------------------------------------------
    def destroy_plan(self, name: str, body: Any = None) -> dict[str, Any]:
        """The ordered destroy plan; reads only."""
        env = self.get(name)
        try:
            v.destroy_request(body)
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        k = self._contract(name)
        if k is None:
            raise Conflict(f"no contract is published for {name!r}: there is nothing to plan against")
        return {
            "environment": name,
            "dry_run": True,
            "requires_confirmation": env.requires_confirmation(),
            "steps": destroy_plan(self.platform.inventory(k)),
            "never_touched": [
                "the Terraform state backend (bucket and lock table)",
                "the cart data table",
                "the Terraform-owned base (network, load balancer, cluster, ECR repository)",
            ],
        }

    def refresh(self, env: Environment) -> bool:
        """Record what ECS runs for an environment no operation holds (drift shows on the next read)."""
        if env.lock is not None:
            return False
        k = self._contract(env.name)
        if k is None:
            return False
        try:
            svc = self.platform.describe_service(k)
            td = str(svc.get("taskDefinition") or "") if svc else ""
            images = self.platform.task_definition_images([td]) if td else {}
        except TransientError as exc:
            logger.warning("service not refreshed", extra={"environment": env.name, "error": str(exc)})
            return False
        observed = service_state(svc, images, self.clock())
        return self.registry.record_service(env.name, observed, k.url, self.clock(), env.version)
