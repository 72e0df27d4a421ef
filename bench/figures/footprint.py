"""Figure 6: the Lambda footprint: the deployment zip (scripts/package.py) and the cold import time of the
handler modules in a fresh interpreter (``python -X importtime``), with the heaviest imports named."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.config import Size
from bench.stats import summary

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("app", "controlplane.entrypoints.steps")  # Lambda loads app (handler "app.step_<name>")
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {**{k: v for k, v in os.environ.items() if k in keep}, "AWS_DEFAULT_REGION": "us-east-1"}


def importtime(code: str) -> tuple[list[tuple[int, int, int, str]], float]:
    """(self_us, cumulative_us, depth, module) per line, and the process's wall time."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    wall = time.perf_counter() - t0
    rows = []
    for line in out.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    return rows, wall


def cold_import(module: str, runs: int) -> dict[str, Any]:
    baseline = {name for *_, name in importtime("pass")[0]}
    importtime(f"import {module}")  # warm-up: .pyc files written, not counted
    totals: list[float] = []
    walls: list[float] = []
    heavy: list[Counter[str]] = []
    for _ in range(runs):
        rows, wall = importtime(f"import {module}")
        fresh = [r for r in rows if r[3] not in baseline]
        totals.append(sum(cum for _, cum, depth, _ in fresh if depth == 0) / 1000)
        walls.append(wall)
        by_top: Counter[str] = Counter()
        for self_us, _, _, name in fresh:
            by_top[name.split(".")[0]] += self_us
        heavy.append(by_top)
    modules: Counter[str] = Counter()
    for self_us, _, _, name in fresh:
        modules[name] = self_us
    tops = {name for c in heavy for name, _ in c.most_common(8)}
    heaviest = sorted(
        ((name, statistics.median(c.get(name, 0) for c in heavy) / 1000) for name in tops), key=lambda x: -x[1]
    )[:8]
    return {
        "import_ms": summary(totals, 1),
        "process_wall_s": summary(walls, 3),
        "heaviest_ms": [{"package": n, "self_ms": round(ms, 1)} for n, ms in heaviest],
        "modules_imported": len(fresh),
        "heaviest_modules_last_run_ms": [
            {"module": n, "self_ms": round(us / 1000, 1)} for n, us in modules.most_common(5)
        ],
    }


def package_zip() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "package"
        t0 = time.time()
        subprocess.run(
            [sys.executable, "scripts/package.py", str(out), "--stage", "dev"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        seconds = time.time() - t0
        path = out / "deployment.zip"
        by_top: Counter[str] = Counter()
        unpacked = 0
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            for info in infos:
                by_top[info.filename.split("/", 1)[0]] += info.compress_size
                unpacked += info.file_size
        return {
            "zip_bytes": path.stat().st_size,
            "zip_mb": round(path.stat().st_size / 1e6, 2),
            "unpacked_mb": round(unpacked / 1e6, 2),
            "files": len(infos),
            "largest_entries": [{"entry": k, "compressed_mb": round(v / 1e6, 2)} for k, v in by_top.most_common(6)],
            "package_seconds": round(seconds, 1),
        }


def run(size: Size) -> dict[str, Any]:
    imports = {m: cold_import(m, size.import_runs) for m in MODULES}
    worst = max(v["import_ms"]["median"] for v in imports.values())
    result: dict[str, Any] = {
        "title": "Lambda footprint",
        "python": sys.version.split()[0],
        "cold_import": imports,
        "targets": [
            {
                "text": "cold import under 300 ms",
                "met": worst < 300,
                "measured": f"median {worst:.0f} ms (the slower of {', '.join(MODULES)})",
            }
        ],
    }
    if size.package:
        pkg = package_zip()
        result["zip"] = pkg
        result["targets"].append(
            {"text": "zip under 5 MB", "met": pkg["zip_bytes"] < 5_000_000, "measured": f"{pkg['zip_mb']} MB"}
        )
    else:
        result["zip"] = {"skipped": "not built with --quick (chalice package takes a while)"}
    return result
