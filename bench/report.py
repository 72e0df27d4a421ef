"""The table (stdout and docs), the JSON document, and the charts."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Row = tuple[str, str, str, str, str]  # figure, metric, median, spread, n


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    mem_gib = None
    try:
        kb = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        mem_gib = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": mem_gib,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "packages": _versions("moto", "boto3", "chalice", "aws-lambda-powertools", "matplotlib", "ecs-deploy"),
    }


def _versions(*names: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def revision() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD")
    snapshot = ROOT / ".bench-commit"
    if not commit and snapshot.exists():  # a `git archive` snapshot of that commit (see docs/benchmarks.md)
        return {"commit": snapshot.read_text().strip(), "uncommitted_product_files": [], "snapshot": True}
    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--", "controlplane", "app.py", "statemachines").splitlines()
        if line.strip()
    ]
    return {"commit": commit, "uncommitted_product_files": changed}


# -------------------------------------------------------------------------------------------------------------
def _spread(s: dict[str, Any], unit: str = "", digits: int = 2) -> tuple[str, str, str]:
    if not s or s.get("median") is None:
        return "-", "-", "0"
    f = f"{{:.{digits}f}}"
    med = f.format(s["median"]) + unit
    if s["n"] == 1:
        return med, "(one run)", "1"
    spread = f"p25-p75 {f.format(s['p25'])}-{f.format(s['p75'])}, min-max {f.format(s['min'])}-{f.format(s['max'])}"
    return med, spread, str(s["n"])


def rows(figures: dict[str, Any]) -> list[Row]:
    out: list[Row] = []

    def add(fig: str, metric: str, s: dict[str, Any], unit: str = "", digits: int = 2) -> None:
        out.append((fig, metric, *_spread(s, unit, digits)))

    def na(fig: str, f: dict[str, Any]) -> None:
        out.append((fig, "-", "n/a", str(f.get("reason", "not available")), "0"))

    f = figures.get("reaction")
    if f is not None:
        if f.get("available"):
            add("1 reaction", "push -> deploy operation created", f["push_to_operation_created_s"], " s")
            add("1 reaction", "push -> UpdateService", f["push_to_update_service_s"], " s")
            add("1 reaction", "push -> deploy operation end", f["push_to_operation_end_s"], " s")
        else:
            na("1 reaction", f)
    f = figures.get("work")
    if f is not None:
        if "operations" in f:
            for kind, k in f["operations"].items():
                add("2 work", f"{kind}: transitions", k["transitions"], "", 0)
                add("2 work", f"{kind}: Lambda invocations", k["lambda_invocations"], "", 0)
                add("2 work", f"{kind}: AWS API calls (all / excl. SFN->Lambda)", k["api_calls"], "", 0)
                out[-1] = (
                    *out[-1][:2],
                    f"{out[-1][2]} / {k['api_calls_by_control_plane']['median']:.0f}",
                    *out[-1][3:],
                )
                add("2 work", f"{kind}: wall time", k["seconds"], " s")
            g = f["deploy_10x_over_1x"]
            out.append(
                ("2 work", "deploy 10x rollout / 1x: transitions", f"x{g['transitions']}", "ratio of medians", "-")
            )
            out.append(("2 work", "deploy 10x rollout / 1x: API calls", f"x{g['api_calls']}", "ratio of medians", "-"))
            r = f.get("reconcile_run")
            if r and r.get("api_calls", {}).get("n"):
                add("2 work", "one reconcile run (apart): Lambda invocations", r["lambda_invocations"], "", 0)
                add("2 work", "one reconcile run (apart): AWS API calls", r["api_calls"], "", 0)
        else:
            na("2 work", f)
    f = figures.get("ecs_deploy")
    if f is not None:
        if f.get("available"):
            for key in ("force_redeploy", "force_redeploy_long_rollout"):
                fr = f.get(key)
                if fr is None:
                    continue
                at = f"{fr.get('deploy_seconds', '?')} s rollout"
                for who in ("control_plane", "ecs_deploy"):
                    add("3 vs ecs-deploy", f"{at}, {who}: AWS API calls", fr[who]["api_calls"], "", 0)
                    if who == "control_plane":
                        own = fr[who].get("api_calls_by_control_plane")
                        if own:
                            add("3 vs ecs-deploy", f"{at}, {who}: own API calls (no Lambda invokes)", own, "", 0)
                    add("3 vs ecs-deploy", f"{at}, {who}: ECS calls", fr[who]["ecs_calls"], "", 0)
                    add("3 vs ecs-deploy", f"{at}, {who}: seconds to outcome", fr[who]["seconds"], " s")
                add(
                    "3 vs ecs-deploy",
                    f"{at}: API calls ratio (all)",
                    fr["api_calls_ratio_control_plane_over_ecs_deploy"],
                )
                if "own_api_calls_ratio_control_plane_over_ecs_deploy" in fr:
                    add(
                        "3 vs ecs-deploy",
                        f"{at}: API calls ratio (own)",
                        fr["own_api_calls_ratio_control_plane_over_ecs_deploy"],
                    )
                add("3 vs ecs-deploy", f"{at}: time ratio", fr["seconds_ratio_control_plane_over_ecs_deploy"])
            bi = f["broken_image"]
            for who in ("control_plane", "ecs_deploy"):
                s = bi[who]
                out.append(
                    (
                        "3 vs ecs-deploy",
                        f"broken image {who}: reports",
                        "/".join(s["outcomes"]),
                        f"after {s['seconds']['median']:.1f} s: {s['message_last_run'][:70]}",
                        str(s["seconds"]["n"]),
                    )
                )
        else:
            na("3 vs ecs-deploy", f)
    f = figures.get("scale")
    if f is not None:
        if "by_n" in f:
            mode = str(f.get("mode", "all_at_once"))
            for n, e in sorted(f["by_n"].items(), key=lambda kv: int(kv[0])):
                for m in ("one_after_another", mode):
                    label = m.replace("_", " ")
                    add("4 teardown", f"N={n} {label}: wall time", e[m]["seconds"], " s", 1)
                    add("4 teardown", f"N={n} {label}: CPU time of the sandbox process", e[m]["cpu_seconds"], " s", 1)
                    add("4 teardown", f"N={n} {label}: transitions", e[m]["transitions"], "", 0)
                    add("4 teardown", f"N={n} {label}: AWS API calls", e[m]["api_calls"], "", 0)
                left = max(e[m]["left_behind"] for m in ("one_after_another", mode))
                kept = e[mode].get("kept_by_design", 0)
                out.append(
                    (
                        "4 teardown",
                        f"N={n}: speed-up {mode.replace('_', ' ')} vs one after another",
                        f"x{e['speedup']}",
                        f"left behind: {left}" + (f" (kept by design: {kept})" if kept else ""),
                        "-",
                    )
                )
        else:
            na("4 teardown", f)
    f = figures.get("api")
    if f is not None:
        if "latency" in f:
            for mode, routes in f["latency"].items():
                for route, s in routes.items():
                    emulated = s.get("emulated_aws_ms_per_request")
                    spread = f"p99 {s['p99_ms']:.1f} ms" + (
                        f"; emulated AWS {emulated:.1f} ms/request" if emulated else ""
                    )
                    out.append(("5 API", f"{mode} {route}", f"p50 {s['p50_ms']:.1f} ms", spread, str(s["n"])))
        else:
            na("5 API", f)
    f = figures.get("footprint")
    if f is not None:
        if "cold_import" in f:
            for module, c in f["cold_import"].items():
                add("6 footprint", f"cold import {module}", c["import_ms"], " ms", 0)
                heavy = ", ".join(f"{h['package']} {h['self_ms']:.0f}" for h in c["heaviest_ms"][:4])
                out.append(("6 footprint", f"heaviest in {module} (self ms)", heavy, "", "-"))
                top = c.get("heaviest_modules_last_run_ms", [])[:2]
                if top:
                    names = ", ".join(f"{t['module']} {t['self_ms']:.0f}" for t in top)
                    out.append(("6 footprint", f"heaviest modules in {module} (self ms)", names, "last run", "-"))
            z = f.get("zip", {})
            if "zip_mb" in z:
                out.append(("6 footprint", "deployment zip", f"{z['zip_mb']} MB", f"{z['files']} files", "1"))
        else:
            na("6 footprint", f)
    f = figures.get("startup")
    if f is not None:
        if "sandbox_start" in f:
            add("7 sandbox", "start-up (import + start, fresh interpreter)", f["sandbox_start"]["ready_s"], " s")
            if "seconds" in f["demo"]:
                add("7 sandbox", "demo end to end", f["demo"]["seconds"], " s", 1)
        else:
            na("7 sandbox", f)
    return out


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name, f in figures.items():
        for t in ([f["target"]] if "target" in f else []) + list(f.get("targets", [])):
            found.append({"figure": name, **t})
    return found


def table(figures: dict[str, Any]) -> str:
    head: Row = ("figure", "metric", "median", "spread", "n")
    body = rows(figures)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(5)]
    widths[3] = min(widths[3], 70)
    lines = ["  ".join(c[:w].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for t in targets(figures):
        lines.append(f"target [{'MET' if t['met'] else 'MISSED'}] {t['text']}: {t['measured']}")
    return "\n".join(lines)


def markdown_table(figures: dict[str, Any]) -> str:
    lines = ["| figure | metric | median | spread | n |", "|---|---|---|---|---|"]
    for r in rows(figures):
        lines.append("| " + " | ".join(c.replace("|", "/") for c in r) + " |")
    return "\n".join(lines)


def machine_markdown(doc: dict[str, Any]) -> str:
    m, rev = doc["machine"], doc["revision"]
    dirty = rev["uncommitted_product_files"]
    lines = [
        f"- when: {doc['generated_at']} (the whole run took {doc.get('bench_seconds', '?')} s)",
        f"- machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB memory, {m['platform']}",
        f"- load average at start: {', '.join(str(x) for x in m['load_average_at_start'])}"
        " (other load on the machine moves wall times, not counts)",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v),
        f"- product revision: {rev['commit'][:12]}"
        + (f" plus uncommitted changes to {', '.join(dirty)}" if dirty else " (as committed)"),
    ]
    return "\n".join(lines)


def fill_markdown(path: Path, doc: dict[str, Any]) -> None:
    """Replace the generated blocks (between <!-- bench:NAME --> and <!-- /bench:NAME -->) of docs/benchmarks.md."""
    if not path.exists():
        return
    text = path.read_text()
    blocks = {"table": markdown_table(doc["figures"]), "machine": machine_markdown(doc)}
    blocks["targets"] = "\n".join(
        f"- **{'met' if t['met'] else 'missed'}**: {t['text']} ({t['measured']})" for t in targets(doc["figures"])
    )
    for name, body in blocks.items():
        start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            text = head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1]
    path.write_text(text)
