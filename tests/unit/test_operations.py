"""The use cases behind the API: starting, refusing, replaying, cancelling and reconciling operations, and the
environments' settings (versioned writes, the tier from Terraform). In memory."""

from __future__ import annotations

import pytest

from controlplane.domain.model import EnvStatus, OpStatus, StepStatus
from controlplane.errors import (
    ConfirmationRequired,
    Conflict,
    IdempotencyKeyReused,
    NotFound,
    OperationInProgress,
    StaleVersion,
    ValidationFailed,
)
from tests.fakes import contract
from tests.unit.engine import Engine


@pytest.fixture
def e() -> Engine:
    engine = Engine(envs=(("dev", "dev"), ("staging", "staging"), ("prod", "prod")))
    for name in ("dev", "staging", "prod"):
        engine.platform.push(f"cart-service-{name}", "v1")
        assert engine.run("provision", name).status is OpStatus.SUCCEEDED
    return engine


class TestStarting:
    def test_start_takes_the_environment_and_starts_one_execution(self, e: Engine) -> None:
        op, payload = e.submit("deploy")
        assert op.status is OpStatus.RUNNING and payload["operation_id"] == op.id
        env = e.c.environments.get("dev")
        assert env.status is EnvStatus.DEPLOYING and env.lock is not None and env.lock.operation_id == op.id
        assert [s.name for s in e.op(op.id).steps] == ["rollout"]  # the first phase runs from the start

    def test_a_second_mutation_gets_409_naming_the_running_operation(self, e: Engine) -> None:
        op, _ = e.submit("deploy")
        with pytest.raises(OperationInProgress) as refused:
            e.submit("destroy")
        assert refused.value.details["running_operation"] == op.id and refused.value.status_code == 409
        e.submit("deploy", "staging")  # other environments are not held

    def test_a_holder_whose_execution_died_is_ended_from_what_runs_and_the_new_operation_starts(
        self, e: Engine
    ) -> None:
        # GIVEN a deploy whose execution was stopped by hand (StopExecution), leaving its lock
        op, _ = e.submit("deploy")
        e.executor.statuses[str(op.execution_arn)] = "ABORTED"
        # WHEN another operation is asked for THEN the dead one is ended (ABORTED, from what ECS runs) first
        new, _ = e.submit("deploy")
        dead = e.op(op.id)
        assert dead.status is OpStatus.ABORTED and dead.error is not None and "ABORTED" in dead.error["message"]
        assert dead.running_step() is None and [s.status for s in dead.steps] == [StepStatus.FAILED]
        lock = e.c.environments.get("dev").lock
        assert lock is not None and lock.operation_id == new.id

    def test_a_start_that_cannot_start_its_execution_ends_failed_and_frees_the_environment(self, e: Engine) -> None:
        e.executor.fail_start = RuntimeError("states unavailable")
        with pytest.raises(RuntimeError):
            e.submit("deploy")
        [op] = [o for o in e.registry.list_operations("dev", 5).items if o.kind.value == "deploy"]
        assert op.status is OpStatus.FAILED and op.error is not None and "could not start" in op.error["message"]
        env = e.c.environments.get("dev")
        assert env.lock is None and env.status is EnvStatus.READY  # nothing ran: the status it had

    def test_deploy_needs_a_provisioned_environment(self, e: Engine) -> None:
        e.run("destroy")
        with pytest.raises(Conflict, match="provision it before deploying"):
            e.submit("deploy")


class TestIdempotency:
    def test_same_key_same_body_replays_another_body_is_422(self, e: Engine) -> None:
        first, _ = e.submit("deploy", body={"image_tag": "v1"}, key="k-1")
        again, _ = e.submit("deploy", body={"image_tag": "v1"}, key="k-1")
        assert again.id == first.id and len([n for _, n, _ in e.executor.started if n == first.id]) == 1
        with pytest.raises(IdempotencyKeyReused) as reused:
            e.submit("deploy", body={"image_tag": "v2"}, key="k-1")
        assert reused.value.details["operation_id"] == first.id

    def test_a_key_used_on_a_request_refused_with_409_is_not_reserved(self, e: Engine) -> None:
        # GIVEN a deploy running WHEN another request with key k-2 is refused (409)
        running, _ = e.submit("deploy")
        with pytest.raises(OperationInProgress):
            e.submit("deploy", body={"image_tag": "v1"}, key="k-2")
        e.executor.statuses[str(running.execution_arn)] = "SUCCEEDED"
        e.c.operations.reconcile(e.op(running.id))
        # THEN the same key with another body is a new request, not a 422 naming an operation that never existed
        op, _ = e.submit("destroy", key="k-2")
        assert op.kind.value == "destroy" and op.status is OpStatus.RUNNING


class TestConfirmation:
    @pytest.mark.parametrize("name", ["staging", "prod"])
    def test_destroying_staging_or_prod_needs_the_typed_name(self, e: Engine, name: str) -> None:
        with pytest.raises(ConfirmationRequired, match=f'"confirm": "{name}"'):
            e.submit("destroy", name)
        with pytest.raises(ConfirmationRequired):
            e.submit("destroy", name, {"confirm": "dev"})
        op, _ = e.submit("destroy", name, {"confirm": name})
        assert "confirm" not in op.params

    def test_a_protected_dev_needs_it_and_turning_protection_off_needs_it_too(self, e: Engine) -> None:
        e.c.environments.put("dev", {"protected": True})
        with pytest.raises(ConfirmationRequired):
            e.submit("destroy")
        with pytest.raises(ConfirmationRequired, match="turning protection off"):
            e.c.environments.put("dev", {"protected": False})
        env, _ = e.c.environments.put("dev", {"protected": False, "confirm": "dev"})
        assert env.settings.protected is False


class TestEnvironments:
    def test_the_tier_comes_from_the_contract_and_a_put_cannot_change_it(self, e: Engine) -> None:
        with pytest.raises(Conflict, match="comes from its Terraform contract"):
            e.c.environments.put("prod", {"tier": "dev", "nightly_teardown": True})
        prod = e.c.environments.get("prod")
        assert prod.tier.value == "prod" and prod.tier_source == "contract" and prod.requires_confirmation()

    def test_discovery_puts_a_changed_contract_tier_back(self, e: Engine) -> None:
        e.platform.contracts_["dev"] = contract("dev", "staging")
        assert e.c.environments.discover()["tier_from_contract"] == ["dev"]
        assert e.c.environments.get("dev").tier.value == "staging"

    def test_an_environment_only_terraform_knows_is_found_on_a_write_never_on_a_read(self, e: Engine) -> None:
        e.platform.contracts_["qa-1"] = contract("qa-1", "dev")
        with pytest.raises(NotFound):
            e.c.environments.get("qa-1")  # reads never write
        e.platform.push("cart-service-qa-1", "v1")
        op, _ = e.submit("provision", "qa-1")
        assert op.status is OpStatus.RUNNING and e.c.environments.get("qa-1").tier_source == "contract"

    def test_create_without_a_contract_needs_a_tier(self, e: Engine) -> None:
        with pytest.raises(ValidationFailed, match="tier is required"):
            e.c.environments.put("preview-1", {})
        env, created = e.c.environments.put("preview-1", {"tier": "dev"})
        assert created and env.tier_source == "request" and env.settings.nightly_teardown

    def test_if_match_refuses_a_stale_version(self, e: Engine) -> None:
        env = e.c.environments.get("dev")
        updated, _ = e.c.environments.put("dev", {"nightly_teardown": False}, if_match=env.version)
        assert updated.version == env.version + 1
        with pytest.raises(StaleVersion):
            e.c.environments.put("dev", {"nightly_teardown": True}, if_match=env.version)

    def test_settings_written_while_an_operation_runs_lose_nothing(self, e: Engine) -> None:
        # GIVEN a deploy of a new image running WHEN settings are PUT during it, again and again
        e.platform.push("cart-service-dev", "v2")
        op, state = e.submit("deploy", body={"image_tag": "v2"})
        state, token = e.step("rollout", state)
        for i in range(5):
            e.c.environments.put("dev", {"desired_count": i + 1})
        e.rollout_completes()
        assert token is not None
        e.step("finish", e.resume(state, "rollout", token))
        # THEN both the settings and the deploy's outcome are recorded
        env = e.c.environments.get("dev")
        assert env.settings.desired_count == 5
        assert env.status is EnvStatus.READY and env.lock is None
        assert env.intended is not None and env.intended.image_tag == "v2" and env.drift is None
        assert e.op(op.id).status is OpStatus.SUCCEEDED


class TestCancel:
    def test_cancelling_an_ended_operation_is_409(self, e: Engine) -> None:
        op = e.run("deploy")
        with pytest.raises(Conflict, match="already ended"):
            e.c.operations.cancel(op.id)

    def test_cancelling_a_dead_execution_ends_it_now(self, e: Engine) -> None:
        op, _ = e.submit("deploy")
        e.executor.statuses[str(op.execution_arn)] = "FAILED"
        ended = e.c.operations.cancel(op.id)
        assert ended.status is OpStatus.FAILED and e.c.environments.get("dev").lock is None

    def test_a_bad_cancel_body_is_400(self, e: Engine) -> None:
        op, _ = e.submit("deploy")
        with pytest.raises(ValidationFailed, match="rollback"):
            e.c.api.cancel(op.id, {"rollout": "sideways"})


def test_operations_are_listed_newest_first_in_pages(e: Engine) -> None:
    for _ in range(3):
        e.run("deploy")
    page = e.c.api.operations_of("dev", 2, None, [], [])
    assert len(page.items) == 2 and page.next
    rest = e.c.api.operations_of("dev", 10, page.next, [], [])
    everything = page.items + rest.items
    assert [o.created_at for o in everything] == sorted((o.created_at for o in everything), reverse=True)
    assert [o.kind.value for o in e.c.api.operations_of("dev", 10, None, [], ["provision"]).items] == ["provision"]
    with pytest.raises(ValidationFailed):
        e.c.api.operations_of("dev", 2, "garbage", [], [])
