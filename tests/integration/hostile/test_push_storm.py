"""Pushes against destroys and bursts (issue 8, 4). Destroy wins: a push storm on the environment's deploy tag
while it is destroyed neither fails the destroy nor deploys anything, then or afterwards. A burst of pushes under
a quiet period deploys only the newest digest."""

from __future__ import annotations

import threading
import time
from typing import Any

from controlplane.domain.times import parse_iso
from controlplane.sandbox.server import Sandbox
from tests.integration.hostile.harness import Hostile

PUSH_EVERY = 0.05


def _operations(h: Hostile, env: str, kind: str) -> list[dict[str, Any]]:
    status, body = h.api.get(f"/environments/{env}/operations?kind={kind}&limit=200")
    assert status == 200, body
    return list(body["operations"])


class Storm:
    """`ecr put-image` of a new image as `latest` every PUSH_EVERY seconds, on a thread."""

    def __init__(self, h: Hostile, env: str) -> None:
        self.h, self.env = h, env
        self.digests: list[str] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"push-storm-{env}")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.digests.append(self.h.push_image(self.env, "latest", salt=str(len(self.digests))))
            except Exception as exc:  # pragma: no cover - reported by the test
                self.errors.append(exc)
            self._stop.wait(PUSH_EVERY)

    def __enter__(self) -> Storm:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def test_push_storm_during_a_destroy(h: Hostile, sandbox: Sandbox) -> None:
    # GIVEN a provisioned environment whose policy deploys every push of `latest`
    env = h.provisioned_env("ps")
    assert h.env(env)["settings"]["deploy_on_push"]["pattern"] == "latest"
    # WHEN it is destroyed while `latest` is pushed every 50 ms, before, during and after the destroy
    destroy = h.start("POST", f"/environments/{env}/destroy", {})
    began = parse_iso(destroy["created_at"])
    with Storm(h, env) as storm:
        ended = h.wait_op(destroy["id"])
        time.sleep(1.5)  # the storm goes on after the destroy ended
    assert sandbox.router is not None and sandbox.router.wait_idle(30)
    time.sleep(1.0)  # anything a late push started would have begun its rollout by now
    print(f"pushes during and after the destroy: {len(storm.digests)}")
    assert not storm.errors, storm.errors[:3]
    assert len(storm.digests) >= 20, len(storm.digests)
    # THEN the destroy succeeded and the environment is destroyed, released, its registry saying what ECS runs
    assert ended["status"] == "SUCCEEDED", (ended["status"], ended["error"])
    envb = h.assert_ended_cleanly(ended, intended=None)
    assert envb["status"] == "destroyed", envb
    assert envb["pending_push"] is None, envb["pending_push"]
    # AND no deploy started after the destroy began, and nothing runs
    late = [op["id"] for op in _operations(h, env, "deploy") if parse_iso(op["created_at"]) >= began]
    assert late == [], late
    svc = h.ecs_service(env)
    assert svc is None or svc["status"] != "ACTIVE", svc
    assert h.env(env)["locked_by"] is None


def test_push_burst_with_a_quiet_period_deploys_only_the_newest(h: Hostile, sandbox: Sandbox) -> None:
    # GIVEN a provisioned environment whose policy waits 1 s of quiet after a push of `latest`
    env = h.provisioned_env("pq")
    status, body = h.api.put(
        f"/environments/{env}", {"deploy_on_push": {"match": "exact", "pattern": "latest", "quiet_seconds": 1}}
    )
    assert status == 200, body
    family_before = set(_task_definitions(h, env))
    # WHEN a burst of pushes of `latest` arrives, 50 ms apart
    digests = []
    for i in range(6):
        digests.append(h.push_image(env, "latest", salt=f"burst-{i}"))
        time.sleep(PUSH_EVERY)
    assert sandbox.router is not None and sandbox.router.wait_idle(30)
    # THEN the push-triggered deploys end, and the newest digest is what runs, recorded as deployed
    deadline = time.time() + 30
    while True:
        pushes = [op for op in _operations(h, env, "deploy") if op["trigger"] == "ecr-push"]
        if pushes and all(op["status"] != "RUNNING" for op in pushes) and h.env(env)["pending_push"] is None:
            break
        assert time.time() < deadline, pushes
        time.sleep(0.2)
    succeeded = [op for op in pushes if op["status"] == "SUCCEEDED"]
    assert [op["params"]["image_digest"] for op in succeeded] == [digests[-1]], [
        (op["status"], op["params"]) for op in pushes
    ]
    assert all(op["status"] == "ABORTED" for op in pushes if op not in succeeded), [op["status"] for op in pushes]
    for op in pushes:
        h.assert_ended_cleanly(h.op(op["id"]))
    envb = h.assert_registry_matches_ecs(env, intended=True)
    assert envb["service"]["image_digest"] == digests[-1]
    # AND no older digest of the burst ever reached ECS (no task definition was registered for it)
    new_images = {_image_digest(h, td) for td in set(_task_definitions(h, env)) - family_before}
    assert new_images == {digests[-1]}, new_images


def _task_definitions(h: Hostile, env: str) -> list[str]:
    ecs = h.client("ecs")
    return list(ecs.list_task_definitions(familyPrefix=f"cart-service-{env}")["taskDefinitionArns"])


def _image_digest(h: Hostile, td: str) -> str:
    image = h.client("ecs").describe_task_definition(taskDefinition=td)["taskDefinition"]["containerDefinitions"][0]
    return str(image["image"]).rsplit("@", 1)[-1]
