"""Figure 4: tearing down N dev environments (N = 1, 10, 50, 100): wall time, state transitions, AWS API calls,
and what is left behind.

Two ways, measured in the same sandbox:
- one after another: POST /environments/{name}/destroy and wait for it, then the next; the figure for N is the
  first N destroys of one sequence over max(N) environments (each destroy is timed on its own, in order);
- the nightly run (issue #4): the nightly_teardown schedule fired in the sandbox (as EventBridge would), one Step
  Functions execution whose Map destroys the selected environments with the configured MaxConcurrency. Where the
  nightly run is not in the app, N destroys started together through the API stand in for it (labelled so).
"""

from __future__ import annotations

import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.config import Size
from bench.harness import Bench, start_bench
from bench.stats import ratio, summary

ROOT = Path(__file__).resolve().parents[2]


def nightly_available() -> bool:
    """The nightly teardown: its schedule (``controlplane/deployment.py``) and its state machine."""
    from controlplane.deployment import EVENT_RULES

    return (ROOT / "statemachines" / "teardown.asl.json").exists() and any(
        r.function == "nightly_teardown" and r.schedule_expression for r in EVENT_RULES
    )


def nightly_concurrency() -> int | None:
    """The Map's concurrency the nightly run uses: the setting the schedule passes (MaxConcurrencyPath)."""
    from controlplane import container

    return int(container.current().settings.batch_concurrency)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def prepare(b: Bench, names: list[str]) -> None:
    """Base (as Terraform would), PUT /environments, an image, and a provisioned service for each name."""
    for name in names:
        b.add_dev_env(name)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: b.push_image(n, "v1", salt=n), names))
    for i in range(0, len(names), 25):  # provision in waves, so the sandbox is not swamped
        ops = [b.start("POST", f"/environments/{n}/provision", {}) for n in names[i : i + 25]]
        for op in ops:
            status, _ = b.wait_execution(str(op["execution_arn"]), timeout=900)
            if status != "SUCCEEDED":
                raise RuntimeError(f"provision of {op['environment']} ended {status}")


def left_behind(names: list[str], nightly: bool = False) -> tuple[int, int, list[str]]:
    """(unexpected leftovers, kept by design, examples). The nightly run keeps the images and log groups on
    purpose (the morning restore brings back that digest); a destroy keeps nothing."""
    from controlplane import container

    platform = container.current().platform
    found = [f"{n}: {x}" for n in names for x in platform.inventory(platform.read_contract(n)).leftovers()]
    kept = [x for x in found if nightly and (" is in the repository" in x or ": log group " in x)]
    unexpected = [x for x in found if x not in kept]
    return len(unexpected), len(kept), (unexpected or kept)[:5]


def one_after_another(b: Bench, names: list[str], ns: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """Destroy names in order; the figure for N is the first N of them."""
    out: dict[str, dict[str, Any]] = {}
    mark, t0, cpu0 = b.log.mark(), time.time(), _cpu()
    arns: list[str] = []
    statuses: list[str] = []
    for i, name in enumerate(names, start=1):
        op = b.start("POST", f"/environments/{name}/destroy", {})
        arns.append(str(op["execution_arn"]))
        statuses.append(b.wait_execution(arns[-1], timeout=900)[0])
        if i in ns:
            seconds, cpu = time.time() - t0, _cpu() - cpu0
            calls = b.log.since(mark, b.log.mark())
            out[str(i)] = {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "succeeded": statuses.count("SUCCEEDED"),
                "api_calls": len(calls),
                "api_calls_by_control_plane": sum(1 for c in calls if c.name != "lambda:Invoke"),
                "arns": list(arns),
            }
    for row in out.values():
        row["transitions"] = sum(b.transitions(arn)["transitions"] for arn in row.pop("arns"))
    return out


def together(b: Bench, names: list[str], nightly: bool) -> dict[str, Any]:
    mark, t0, cpu0 = b.log.mark(), time.time(), _cpu()
    if nightly:
        assert b.box.router is not None
        b.box.router.fire("nightly_teardown")
        b.box.router.wait_idle(timeout=120)
        result = next((r for f, _, r in reversed(b.box.router.delivered) if f.endswith("nightly_teardown")), None)
        if not isinstance(result, dict) or "execution_arn" not in result:
            raise RuntimeError(f"the nightly teardown started nothing: {result}")
        selected = len(result.get("operations", []))
        arns = [str(result["execution_arn"])]
        statuses = [b.wait_execution(arns[0], timeout=1800)[0]]
        ops = [b.operation(op_id) for op_id in result.get("operations", [])]
        succeeded = sum(1 for op in ops if op.get("status") == "SUCCEEDED")
    else:
        arns = [str(b.start("POST", f"/environments/{n}/destroy", {})["execution_arn"]) for n in names]
        statuses = [b.wait_execution(arn, timeout=900)[0] for arn in arns]
        selected, succeeded = len(names), statuses.count("SUCCEEDED")
    seconds, cpu = time.time() - t0, _cpu() - cpu0
    calls = b.log.since(mark, b.log.mark())
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "selected": selected,
        "succeeded": succeeded,
        "api_calls": len(calls),
        "api_calls_by_control_plane": sum(1 for c in calls if c.name != "lambda:Invoke"),
        "transitions": sum(b.transitions(arn)["transitions"] for arn in arns),
        "executions": len(arns),
    }


def _pack(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("seconds", "cpu_seconds", "transitions", "api_calls", "api_calls_by_control_plane")
    packed: dict[str, Any] = {k: summary([float(r[k]) for r in rows]) for k in keys}
    packed["succeeded"] = min(int(r["succeeded"]) for r in rows)
    packed["left_behind"] = max(int(r.get("left_behind", 0)) for r in rows)
    packed["left_behind_examples"] = rows[-1].get("left_behind_examples", [])
    for extra in ("selected", "executions", "kept_by_design"):
        if extra in rows[-1]:
            packed[extra] = rows[-1][extra]
    return packed


def run(size: Size) -> dict[str, Any]:
    nightly = nightly_available()
    mode = "nightly" if nightly else "all_at_once"
    b = start_bench(deploy_seconds=size.deploy_seconds, build_seconds=size.build_seconds)
    ns = tuple(sorted(size.scale_ns))
    seq: dict[str, list[dict[str, Any]]] = {str(n): [] for n in ns}
    tog: dict[str, list[dict[str, Any]]] = {str(n): [] for n in ns}
    batch = 0
    try:
        for _ in range(size.scale_runs):
            batch += 1
            names = [f"bs{batch:02d}-{i:03d}" for i in range(max(ns))]
            prepare(b, names)
            for key, row in one_after_another(b, names, ns).items():
                row["left_behind"], _, row["left_behind_examples"] = left_behind(names[: int(key)])
                seq[key].append(row)
            for n in ns:
                batch += 1
                names = [f"bt{batch:02d}-{i:03d}" for i in range(n)]
                prepare(b, names)
                row = together(b, names, nightly)
                row["left_behind"], row["kept_by_design"], row["left_behind_examples"] = left_behind(names, nightly)
                tog[str(n)].append(row)
    finally:
        b.box.stop()
    table: dict[str, Any] = {}
    for n in ns:
        entry: dict[str, Any] = {"one_after_another": _pack(seq[str(n)]), mode: _pack(tog[str(n)])}
        entry["speedup"] = ratio(entry["one_after_another"]["seconds"]["median"], entry[mode]["seconds"]["median"])
        table[str(n)] = entry
    biggest = str(max(ns))
    speedup = table[biggest]["speedup"]
    concurrency = nightly_concurrency() if nightly else None
    return {
        "title": "Teardown of N dev environments",
        "mode": mode,
        "mode_note": (
            f"the nightly_teardown schedule fired in the sandbox: one execution, Map MaxConcurrency {concurrency}"
            if nightly
            else "nightly teardown not in the sandbox yet: N destroys started together through the API"
        ),
        "nightly_available": nightly,
        "configured_concurrency": concurrency,
        "sandbox": {"drain_seconds": 1.0, "wait_interval_s": 1, "deploy_seconds": size.deploy_seconds},
        "by_n": table,
        "target": {
            "text": f"teardown of {biggest} environments at least 6x faster than one after another",
            "met": speedup is not None and speedup >= 6,
            "measured": f"x{speedup} ({mode.replace('_', ' ')} vs one after another)",
        },
    }
