"""python -m bench [--quick] [--only work,api] [--publish]: run the figures against the sandbox, print the
table, write the JSON (bench/results/, and docs/benchmarks.json with --publish) and draw the charts."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.config import size
from bench.figures import NAMES

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("footprint", "work", "ecs_deploy", "reaction", "api", "scale", "startup")
assert sorted(ORDER) == sorted(NAMES)


def run_figure(name: str, quick: bool, out: Path, logs: Path) -> dict[str, Any]:
    result_file = out / f".{name}.json"
    result_file.unlink(missing_ok=True)
    log = logs / f"{name}.log"
    with log.open("w") as sink:
        cmd = [sys.executable, "-m", "bench.worker", name, "--out", str(result_file), *(["--quick"] if quick else [])]
        try:
            subprocess.run(cmd, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, timeout=3600)
        except subprocess.TimeoutExpired:
            return {"figure": name, "available": False, "reason": "the worker timed out (3600 s)"}
    if not result_file.exists():
        return {"figure": name, "available": False, "reason": f"the worker wrote no result (see {log})"}
    data: dict[str, Any] = json.loads(result_file.read_text())
    result_file.unlink()
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny size: checks the harness, not the figures")
    parser.add_argument("--only", default="", help=f"comma-separated figures among {', '.join(ORDER)}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where the JSON goes")
    parser.add_argument("--charts", type=Path, default=None, help="where the PNGs go (default OUT/charts)")
    parser.add_argument(
        "--publish", action="store_true", help="also write docs/benchmarks.json and the PNGs into docs/benchmarks/"
    )
    parser.add_argument(
        "--resume", action="store_true", help="keep the figures OUT/latest.json already has (same size); run the rest"
    )
    parser.add_argument("--rerun", default="", help="with --resume: figures to measure again all the same")
    args = parser.parse_args(argv)
    chosen = [n for n in ORDER if not args.only or n in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - set(ORDER)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    out: Path = args.out
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    doc: dict[str, Any] = {
        "generated_at": started.isoformat(timespec="seconds"),
        "size": size(args.quick).__dict__,
        "machine": report.machine(),
        "revision": report.revision(),
        "figures": {},
    }
    previous = out / "latest.json"
    if args.resume and previous.exists():
        old = json.loads(previous.read_text())
        if old.get("size", {}).get("name") == doc["size"]["name"]:
            again = set(args.rerun.split(","))
            doc["figures"] = {k: v for k, v in old["figures"].items() if k not in again and v.get("available", True)}
            doc["generated_at"], doc["machine"] = old["generated_at"], old["machine"]
            doc["resumed"] = True
    t0 = time.time()
    for name in chosen + [n for n in args.rerun.split(",") if n in ORDER and n not in chosen]:
        if name in doc["figures"]:
            print(f"[bench] {name}: kept from {previous}", flush=True)
            continue
        print(f"[bench] {name} ...", flush=True)
        t = time.time()
        doc["figures"][name] = run_figure(name, args.quick, out, logs)
        doc["figures"][name]["measured_at"] = {
            "utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": report.revision()["commit"],
        }
        print(f"[bench] {name} done in {time.time() - t:.0f}s", flush=True)
        previous.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")  # progress, if cut short
    doc["bench_seconds"] = round(sum(float(f.get("bench_seconds", 0)) for f in doc["figures"].values()), 1)
    print(f"[bench] this invocation took {time.time() - t0:.0f}s", flush=True)
    doc["targets"] = report.targets(doc["figures"])
    charts_dir = (ROOT / "docs" / "benchmarks") if args.publish else (args.charts or out / "charts")
    try:
        doc["charts"] = {"dir": str(charts_dir.relative_to(ROOT) if charts_dir.is_relative_to(ROOT) else charts_dir)}
        doc["charts"]["files"] = __import__("bench.charts", fromlist=["draw"]).draw(doc["figures"], charts_dir)
    except ImportError as exc:
        doc["charts"] = {"skipped": f"matplotlib is not installed ({exc})"}
    text = json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (out / f"bench-{stamp}{'-quick' if args.quick else ''}.json").write_text(text)
    (out / "latest.json").write_text(text)
    (out / "table.md").write_text(report.markdown_table(doc["figures"]) + "\n")
    if args.publish:
        (ROOT / "docs" / "benchmarks.json").write_text(text)
        report.fill_markdown(ROOT / "docs" / "benchmarks.md", doc)
    print()
    print(report.table(doc["figures"]))
    print(f"\nJSON: {out / 'latest.json'}" + (" and docs/benchmarks.json" if args.publish else ""))
    print(f"charts: {doc['charts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
