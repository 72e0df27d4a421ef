"""Figure 7: the sandbox's start-up time (a fresh interpreter, as `make sandbox` starts it) and the demo's
end-to-end time (`python -m controlplane demo`, which starts its own sandbox)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import Size
from bench.stats import summary

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, time
t0 = time.perf_counter()
from controlplane.sandbox.server import Sandbox
t1 = time.perf_counter()
box = Sandbox(aws_port=0, api_port=0)
box.start()
t2 = time.perf_counter()
box.stop()
print("BENCH " + json.dumps({"import_s": t1 - t0, "start_s": t2 - t1}))
"""


def sandbox_start() -> dict[str, float]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    wall = time.perf_counter() - t0
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH "))
    data: dict[str, float] = json.loads(line[6:])
    data["ready_s"] = data["import_s"] + data["start_s"]
    data["process_s"] = wall
    return data


def demo() -> dict[str, Any]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "controlplane", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    wall = time.perf_counter() - t0
    found = re.search(r"(\d+)/(\d+) checks passed", out.stdout)
    return {
        "seconds": wall,
        "exit_code": out.returncode,
        "checks": f"{found.group(1)}/{found.group(2)}" if found else "?",
    }


def run(size: Size) -> dict[str, Any]:
    starts = [sandbox_start() for _ in range(size.startup_runs)]
    result: dict[str, Any] = {
        "title": "Sandbox start-up and the demo",
        "sandbox_start": {
            k: summary([s[k] for s in starts], 3) for k in ("import_s", "start_s", "ready_s", "process_s")
        },
    }
    if size.demo_runs:
        demos = [demo() for _ in range(size.demo_runs)]
        result["demo"] = {
            "seconds": summary([d["seconds"] for d in demos], 2),
            "exit_codes": sorted({d["exit_code"] for d in demos}),
            "checks": sorted({d["checks"] for d in demos}),
        }
    else:
        result["demo"] = {"skipped": "not run with --quick"}
    return result
