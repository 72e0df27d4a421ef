"""Figure 5: latency of GET /environments and GET /operations/{id} with a full registry (1,000 environments,
10,000 operations): in-process through Chalice's test client (routing, ControlService, the DynamoDB store
against moto), over the sandbox's HTTP port, and, to separate the code from the emulated DynamoDB, in-process
with the in-memory store holding the same registry."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.config import Size
from bench.counting import CallLog, counts
from bench.harness import start_bench
from bench.stats import latency

STEPS = ("validate", "lock", "resolve_image", "register_task_definition", "apply_service", "wait_deployment")


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
            name=n,
            tier=Tier.DEV,
            status=EnvStatus.READY,
            settings=default_settings(n, Tier.DEV),
            image_digest="sha256:" + "ab" * 32,
            updated_at=now,
        )
        for n in names
    ]
    everyone = existing + names
    ops = []
    for i in range(n_ops):
        t = now - 86400 + i
        steps = tuple(
            StepRecord(name=s, seq=k, status=StepStatus.SUCCEEDED, started_at=t + k, ended_at=t + k + 0.5)
            for k, s in enumerate(STEPS)
        )
        ops.append(
            Operation(
                id=f"deploy-bench{i:06d}",
                kind=OpKind.DEPLOY,
                environment=everyone[i % len(everyone)],
                trigger="api",
                params={"image_tag": f"v{i}"},
                status=OpStatus.SUCCEEDED,
                created_at=t,
                ended_at=t + 10,
                steps=steps,
                result={"image_digest": "sha256:" + "cd" * 32},
                execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:bench:deploy-bench{i:06d}",
            )
        )
    return envs, ops


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
    from controlplane.service import ControlService
    from controlplane.store.memory import MemoryStore

    b = start_bench(deploy_seconds=size.deploy_seconds, build_seconds=size.build_seconds)
    try:
        c = container.current()
        existing = [e.name for e in c.service.list_environments()]
        envs, ops = _population(size.api_envs, size.api_ops, existing)
        t0 = time.time()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(c.store.create_environment, envs))
            list(pool.map(c.store.create_operation, ops))
        populate_s = time.time() - t0
        registry_envs = len(c.service.list_environments())
        rng = random.Random(5)
        n = size.api_samples
        list_paths = ["/environments"] * size.api_list_samples
        op_paths = [f"/operations/{rng.choice(ops).id}" for _ in range(n)]

        memory = MemoryStore()
        for e in c.service.list_environments():
            memory.create_environment(e)
        for op in ops:
            memory.create_operation(op)
        mem_service = ControlService(memory, c.service.executor, c.settings)

        def mem_get(path: str) -> tuple[int, int]:
            if path == "/environments":
                body: Any = {"environments": [e.to_dict() for e in mem_service.list_environments()]}
            else:
                body = mem_service.get_operation(path.rsplit("/", 1)[-1]).to_dict()
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
                results[mode] = {
                    "GET /environments": _sample(fn, list_paths, b.log),
                    "GET /operations/{id}": _sample(fn, op_paths, b.log),
                }
    finally:
        b.box.stop()
    p99 = max(results["in_process"][k]["p99_ms"] for k in results["in_process"])
    return {
        "title": "API latency with a full registry",
        "registry": {"environments": registry_envs, "operations_added": len(ops), "populate_seconds": populate_s},
        "samples": {"GET /environments": size.api_list_samples, "GET /operations/{id}": size.api_samples},
        "latency": results,
        "target": {
            "text": "p99 of the two reads under 50 ms in-process",
            "met": p99 < 50,
            "measured": f"worst in-process p99 {p99:.1f} ms",
        },
    }
