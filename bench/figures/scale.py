"""Figure 4: tearing down N dev environments (N = 1, 10, 50, 100): wall time, state transitions and AWS API
calls, and what is left behind. Issue #4's nightly teardown (one Step Functions run fanning out with bounded
concurrency) is not in the sandbox yet, so this measures the two ways the API offers today: destroy the N
environments one after another, and all at once (N operations started together); when the nightly run lands it
belongs here instead (see docs/benchmarks.md)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.config import Size
from bench.harness import Bench, start_bench
from bench.stats import ratio, summary

MODES = ("one_after_another", "all_at_once")


def nightly_available() -> bool:
    """Issue #4's nightly teardown: a schedule in the Chalice app."""
    import app as chalice_app

    return any("nightly" in str(getattr(s, "name", "")) for s in getattr(chalice_app.app, "event_sources", []))


def prepare(b: Bench, names: list[str]) -> None:
    """Base (as Terraform would), PUT /environments, an image, and a provisioned service for each name."""
    fresh = [n for n in names if n not in b.extra_envs]
    for name in fresh:
        b.add_dev_env(name)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: b.push_image(n, "v1", salt=n), names))
    ops = [b.start("POST", f"/environments/{n}/provision", {}) for n in names]
    for op in ops:
        status, _ = b.wait_execution(str(op["execution_arn"]), timeout=900)
        if status != "SUCCEEDED":
            raise RuntimeError(f"provision of {op['environment']} ended {status}")


def teardown(b: Bench, names: list[str], mode: str) -> dict[str, Any]:
    mark = b.log.mark()
    t0 = time.time()
    arns: list[str] = []
    statuses: list[str] = []
    if mode == "one_after_another":
        for name in names:
            op = b.start("POST", f"/environments/{name}/destroy", {})
            arns.append(str(op["execution_arn"]))
            statuses.append(b.wait_execution(arns[-1], timeout=900)[0])
    else:
        arns = [str(b.start("POST", f"/environments/{n}/destroy", {})["execution_arn"]) for n in names]
        statuses = [b.wait_execution(arn, timeout=900)[0] for arn in arns]
    seconds = time.time() - t0
    calls = b.log.since(mark, b.log.mark())
    transitions = sum(b.transitions(arn)["transitions"] for arn in arns)
    from controlplane import container

    platform = container.current().platform
    leftovers = {n: platform.inventory(platform.read_contract(n)).leftovers() for n in names}
    return {
        "seconds": seconds,
        "succeeded": statuses.count("SUCCEEDED"),
        "transitions": transitions,
        "api_calls": len(calls),
        "api_calls_by_control_plane": sum(1 for c in calls if c.name != "lambda:Invoke"),
        "left_behind": sum(len(v) for v in leftovers.values()),
        "left_behind_examples": [f"{n}: {x}" for n, v in leftovers.items() for x in v][:5],
    }


def run(size: Size) -> dict[str, Any]:
    b = start_bench(deploy_seconds=size.deploy_seconds, build_seconds=size.build_seconds)
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    serial = 0
    try:
        for n in size.scale_ns:
            rows[str(n)] = {m: [] for m in MODES}
            for _ in range(size.scale_runs):
                for mode in MODES:
                    serial += 1
                    names = [f"bn{serial:03d}-{i:03d}" for i in range(n)]
                    prepare(b, names)
                    rows[str(n)][mode].append(teardown(b, names, mode))
    finally:
        b.box.stop()
    table: dict[str, Any] = {}
    for key, by_mode in rows.items():
        entry: dict[str, Any] = {}
        for mode, results in by_mode.items():
            entry[mode] = {
                k: summary([float(x[k]) for x in results])
                for k in ("seconds", "transitions", "api_calls", "api_calls_by_control_plane")
            }
            entry[mode]["succeeded"] = min(x["succeeded"] for x in results)
            entry[mode]["left_behind"] = max(x["left_behind"] for x in results)
            entry[mode]["left_behind_examples"] = results[-1]["left_behind_examples"]
        entry["speedup_all_at_once"] = ratio(
            entry["one_after_another"]["seconds"]["median"], entry["all_at_once"]["seconds"]["median"]
        )
        table[key] = entry
    biggest = str(max(size.scale_ns))
    speedup = table[biggest]["speedup_all_at_once"]
    return {
        "title": "Teardown of N dev environments",
        "mode_note": "nightly teardown not in the sandbox yet: destroy through the API one after another vs all at once",
        "nightly_available": nightly_available(),
        "sandbox": {"drain_seconds": 1.0, "wait_interval_s": 1},
        "by_n": table,
        "target": {
            "text": f"teardown of {biggest} environments at least 6x faster than one after another",
            "met": speedup is not None and speedup >= 6,
            "measured": f"x{speedup} (all at once through the API; the nightly Map run is not measured yet)",
        },
    }
