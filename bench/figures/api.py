"""Figure 5: latency of the reads with a full registry (1,000 environments, 10,000 operations):
GET /environments and GET /environments/{name}/operations (both cursor-paginated: the first page, and a page
further in through `next`), and GET /operations/{id}. In-process through Chalice's test client (routing, the
use cases, the DynamoDB registry against moto), over the sandbox's HTTP port, and, to separate the code from the
emulated DynamoDB, in-process with the in-memory registry holding the same records."""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.config import Size
from bench.counting import CallLog, counts
from bench.harness import start_bench
from bench.stats import latency

STEPS = ("rollout", "finish")


def _population(n_envs: int, n_ops: int, existing: list[str]) -> tuple[list[Any], list[Any]]:
    from controlplane.domain.model import (
        Environment,
        EnvStatus,
        Operation,
        OpKind,
        OpStatus,
        StepRecord,
        StepStatus,
        Tier,
        default_settings,
    )

    now = time.time()
    names = [f"api-{i:04d}" for i in range(max(0, n_envs - len(existing)))]
    envs = [
        Environment(
            name=n, tier=Tier.DEV, status=EnvStatus.READY, settings=default_settings(n, Tier.DEV), updated_at=now
        )
        for n in names
    ]
    everyone = existing + names
    ops = []
    for i in range(n_ops):
        t = now - 86400 + i
        steps = tuple(
            StepRecord(name=s, status=StepStatus.SUCCEEDED, started_at=t + k, ended_at=t + k + 0.5)
            for k, s in enumerate(STEPS)
        )
        env = everyone[i % len(everyone)]
        ops.append(
            Operation(
                id=f"deploy_{env}_bench{i:06d}",
                kind=OpKind.DEPLOY,
                environment=env,
                trigger="api",
                params={"image_tag": f"v{i}"},
                status=OpStatus.SUCCEEDED,
                created_at=t,
                ended_at=t + 10,
                steps=steps,
                result={"image_digest": "sha256:" + "cd" * 32},
                execution_arn=f"arn:aws:states:eu-central-1:123456789012:execution:bench:deploy_{env}_bench{i:06d}",
                before=EnvStatus.READY,
            )
        )
    return envs, ops


def _load(registry: Any, envs: list[Any], ops: list[Any]) -> None:
    """Write the population as the control plane would: environments, then each operation begun and ended."""
    from controlplane.domain.model import EnvStatus
    from controlplane.ports import Begin, End

    for env in envs:
        registry.create_environment(env)
    for op in ops:
        running = op.replace(status=op.status.RUNNING, ended_at=None)
        registry.begin(Begin(running, op.created_at + 3600, frozenset(EnvStatus), None))
        registry.end(End(op.id, op.environment, op.status, float(op.ended_at), None, op.result, steps=op.steps))


@contextlib.contextmanager
def _no_table_copy_per_transaction() -> Iterator[None]:
    """While the bench loads its population: moto deep-copies every table a TransactWriteItems touches (to roll it
    back on a failure), so loading 10,000 operations through the store's own transactions is quadratic in time and
    held tens of GB at once. The population's transactions never fail (fresh ids), so the copy is skipped for the
    load only; the timed reads never transact. DynamoDB itself does no such thing."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    real = getattr(models, "copy")  # noqa: B009 (mypy: moto exports no copy)

    class _Copy:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else real.deepcopy(value, memo)

    setattr(models, "copy", _Copy())  # noqa: B010
    try:
        yield
    finally:
        setattr(models, "copy", real)  # noqa: B010


def _sample(fn: Callable[[str], tuple[int, int]], paths: list[str], log: CallLog) -> dict[str, Any]:
    for path in paths[:3]:  # warm-up, not counted
        fn(path)
    seconds: list[float] = []
    sizes: list[int] = []
    mark = log.mark()
    for path in paths:
        t0 = time.perf_counter()
        status, size = fn(path)
        seconds.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"GET {path} returned {status}")
        sizes.append(size)
    calls = log.since(mark, log.mark())
    return {
        **latency(seconds),
        "response_bytes": max(sizes),
        "aws_calls_per_request": round(len(calls) / len(paths), 2),
        "aws_calls": counts(calls),
        "emulated_aws_ms_per_request": round(sum(c.seconds for c in calls) * 1000 / len(paths), 2),
    }


def run(size: Size) -> dict[str, Any]:
    from chalice.test import Client

    import app as chalice_app
    from controlplane import container
    from controlplane.store.memory import MemoryRegistry

    b = start_bench(deploy_seconds=size.deploy_seconds, build_seconds=size.build_seconds)
    try:
        c = container.current()
        existing = [e.name for e in c.registry.list_environments(200).items]
        envs, ops = _population(size.api_envs, size.api_ops, existing)
        t0 = time.time()
        # four loaders, each owning whole environments: an operation's begin takes its environment's lock, so two
        # loaders writing one environment's operations would meet on it (LockHeld)
        by_env: dict[str, list[Any]] = {}
        for op in ops:
            by_env.setdefault(op.environment, []).append(op)
        owned = list(by_env.values())
        chunks = [[op for env_ops in owned[i::4] for op in env_ops] for i in range(4)]
        with _no_table_copy_per_transaction():
            _load(c.registry, envs, [])
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda chunk: _load(c.registry, [], chunk), chunks))
        populate_s = time.time() - t0
        rng = random.Random(5)
        n = size.api_samples
        busiest = max(set(o.environment for o in ops), key=lambda e: sum(o.environment == e for o in ops))
        first = c.registry.list_environments(50)
        deeper = c.registry.list_environments(50, first.next).next if first.next else None
        op_page = c.registry.list_operations(busiest, 50).next
        paths = {
            "GET /environments (first page)": ["/environments"] * size.api_list_samples,
            "GET /environments (a later page)": [f"/environments?next={deeper or ''}"] * size.api_list_samples,
            "GET /environments/{name}/operations (first page)": [f"/environments/{busiest}/operations"]
            * size.api_list_samples,
            "GET /environments/{name}/operations (a later page)": [
                f"/environments/{busiest}/operations?next={op_page or ''}"
            ]
            * size.api_list_samples,
            "GET /operations/{id}": [f"/operations/{rng.choice(ops).id}" for _ in range(n)],
        }

        memory = MemoryRegistry()
        _load(memory, [e for e in c.registry.list_environments(200).items], [])
        remaining = c.registry.list_environments(200, c.registry.list_environments(200).next)
        while True:
            _load(memory, remaining.items, [])
            if remaining.next is None:
                break
            remaining = c.registry.list_environments(200, remaining.next)
        _load(memory, [], ops)
        mem = container.wire(c.settings, memory, c.platform, c.operations.executor, c.waits.sender)
        # a cursor is its store's own: the same later pages, as the in-memory store's cursors name them
        mem_first = memory.list_environments(50)
        own_cursor = {
            deeper: memory.list_environments(50, mem_first.next).next if mem_first.next else None,
            op_page: memory.list_operations(busiest, 50).next,
        }

        def mem_get(path: str) -> tuple[int, int]:
            route, _, query = path.partition("?")
            given = query.removeprefix("next=")
            cursor = own_cursor.get(given) if given else None
            if route == "/environments":
                page = mem.environments.list(50, cursor)
                body: Any = {"environments": [e.to_dict() for e in page.items], "next": page.next}
            elif route.endswith("/operations"):
                ops_page = mem.api.operations_of(route.split("/")[2], 50, cursor, [], [])
                body = {"operations": [o.to_dict() for o in ops_page.items], "next": ops_page.next}
            else:
                body = mem.api.operation(route.rsplit("/", 1)[-1])
            return 200, len(json.dumps(body, default=str))

        def http_get(path: str) -> tuple[int, int]:
            status, body = b.api.get(path)
            return status, len(json.dumps(body))

        results: dict[str, Any] = {}
        with Client(chalice_app.app, stage_name="sandbox") as client:

            def local_get(path: str) -> tuple[int, int]:
                response = client.http.get(path)
                return response.status_code, len(response.body)

            for mode, fn in (("in_process", local_get), ("http", http_get), ("in_process_memory_store", mem_get)):
                results[mode] = {route: _sample(fn, ps, b.log) for route, ps in paths.items()}
    finally:
        b.box.stop()
    lists = [k for k in results["in_process"] if "/operations/{id}" not in k]
    p99 = max(results["in_process"][k]["p99_ms"] for k in lists)
    return {
        "title": "API latency with a full registry",
        "registry": {
            "environments": len(existing) + len(envs),
            "operations_added": len(ops),
            "populate_seconds": populate_s,
        },
        "samples": {k: len(v) for k, v in paths.items()},
        "latency": results,
        "target": {
            "text": "p99 of GET /environments and GET /environments/{name}/operations (cursor-paginated) under 50 ms",
            "met": p99 < 50,
            "measured": f"worst in-process p99 {p99:.1f} ms over first and later pages",
        },
    }
