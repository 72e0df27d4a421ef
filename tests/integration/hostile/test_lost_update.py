"""Lost updates (issue 8, 3): settings written in a tight loop while deploys run, and concurrent writes with
If-Match. Neither writer's result is lost: each deploy's outcome is recorded, the last settings write is what a
read shows, and a write against a version that moved on is refused with 409 VersionConflict."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from controlplane.sandbox.client import ApiClient
from tests.integration.hostile.harness import Hostile

DEPLOYS = 5


def _settings(i: int) -> dict[str, Any]:
    return {
        "desired_count": 1 + i % 2,
        "nightly_teardown": i % 3 == 0,
        "deploy_on_push": {"match": "exact", "pattern": f"rel-{i}"},
    }


def _shows(settings: dict[str, Any], body: dict[str, Any]) -> bool:
    got = body["settings"]
    return bool(
        got["desired_count"] == settings["desired_count"]
        and got["nightly_teardown"] == settings["nightly_teardown"]
        and got["deploy_on_push"]["pattern"] == settings["deploy_on_push"]["pattern"]
    )


def test_settings_written_in_a_tight_loop_while_deploys_run(h: Hostile) -> None:
    # GIVEN a provisioned environment
    env = h.provisioned_env("lu")
    stop = threading.Event()
    answers: Counter[int] = Counter()
    last: dict[str, Any] = {}
    errors: list[Any] = []

    def writer() -> None:
        client = ApiClient(h.api.base_url)
        i = 0
        while not stop.is_set():
            i += 1
            wanted = _settings(i)
            status, body = client.put(f"/environments/{env}", wanted)
            answers[status] += 1
            if status == 200:
                last.clear()
                last.update(wanted)
            elif status != 409:  # a write that kept losing to the operation's own writes may be refused, no more
                errors.append((status, body))

    thread = threading.Thread(target=writer)
    thread.start()
    # WHEN deploys of new images run meanwhile
    try:
        for n in range(DEPLOYS):
            digest = h.push_image(env, f"v{n}")
            op = h.run("POST", f"/environments/{env}/deployments", {"image_tag": f"v{n}"})
            # THEN each deploy's result is recorded: ready, and what ECS runs is the new digest, as deployed
            assert op["status"] == "SUCCEEDED", op
            envb = h.assert_ended_cleanly(op, intended=True)
            assert envb["status"] == "ready", envb
            assert envb["intended"]["image_digest"] == digest == envb["service"]["image_digest"], envb
            assert envb["intended"]["operation_id"] == op["id"], envb["intended"]
    finally:
        stop.set()
        thread.join(30)
    print(f"settings PUTs during {DEPLOYS} deploys: {dict(answers)}")
    assert not errors, errors[:3]
    assert answers[200] >= DEPLOYS, answers
    # AND the last settings write that was accepted is what a read shows, the deploys' records intact too
    envb = h.env(env)
    assert _shows(last, envb), (last, envb["settings"])
    assert envb["intended"]["image_digest"] == envb["service"]["image_digest"] is not None


def test_concurrent_if_match_writes_one_wins_the_rest_get_409(h: Hostile) -> None:
    # GIVEN an environment at some version
    env = h.new_env("lu")
    version = h.env(env)["version"]
    writers = 8
    barrier = threading.Barrier(writers)
    results: list[tuple[int, Any, int]] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        client = ApiClient(h.api.base_url)
        barrier.wait()
        status, body = client.request("PUT", f"/environments/{env}", _settings(i), headers={"If-Match": f'"{version}"'})
        with lock:
            results.append((status, body, i))

    # WHEN several clients write different settings at once, each with If-Match: that version
    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # THEN exactly one write wins; every other is refused with 409 VersionConflict instead of overwriting it
    statuses = Counter(status for status, _, _ in results)
    assert statuses == {200: 1, 409: writers - 1}, [(s, b) for s, b, _ in results]
    for status, body, _ in results:
        if status == 409:
            assert body["error"]["code"] == "VersionConflict", body
    (winner,) = [i for status, _, i in results if status == 200]
    envb = h.env(env)
    assert _shows(_settings(winner), envb), (winner, envb["settings"])
    assert envb["version"] == version + 1, envb["version"]
    # AND a write with the version it read before is refused too
    status, body = h.api.request(
        "PUT", f"/environments/{env}", {"desired_count": 0}, headers={"If-Match": str(version)}
    )
    assert status == 409 and body["error"]["code"] == "VersionConflict", body
    assert h.env(env)["settings"]["desired_count"] == _settings(winner)["desired_count"]
