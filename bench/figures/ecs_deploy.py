"""Figure 3: the control plane and fabfuel's ecs-deploy force-redeploy the same service on the same emulated
AWS (both pointed at the sandbox endpoint): AWS API calls and wall time until each reports the outcome, and
whether each reports a circuit-breaker rollback (an image tagged broken*) as a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import ecs_tasks
from bench.config import Size
from bench.counting import counts
from bench.harness import Bench, start_bench
from bench.stats import ratio, summary

ENV = "dev"
NAME = f"cart-service-{ENV}"
CLUSTER = f"ecommerce-{ENV}"
APP_ID = "ecs-deploy-bench"  # ecs-deploy's requests carry it in their User-Agent (AWS_SDK_UA_APP_ID)


def ecs_cli() -> str | None:
    """ecs-deploy's `ecs` script: beside this interpreter, in .venv-bench, or on PATH."""
    root = Path(__file__).resolve().parents[2]
    for candidate in (Path(sys.executable).with_name("ecs"), root / ".venv-bench" / "bin" / "ecs"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("ecs")


def ecs_deploy_version(cli: str) -> str:
    out = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=60)
    return (out.stdout or out.stderr).strip()


def _env(b: Bench) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": b.box.aws_endpoint,
        "AWS_DEFAULT_REGION": b.box.region,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_SESSION_TOKEN": "sandbox",
        "AWS_SDK_UA_APP_ID": APP_ID,
    }


def run_ecs_deploy(b: Bench, cli: str, extra: list[str], timeout: int) -> dict[str, Any]:
    cmd = [cli, "deploy", CLUSTER, NAME, "--force-new-deployment", "--timeout", str(timeout), *extra]
    mark = b.log.mark()
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(b), timeout=timeout + 120)
    seconds = time.time() - t0
    window = b.log.since(mark, b.log.mark())
    calls = [c for c in window if c.app_id == APP_ID]
    meanwhile = [c for c in window if c.app_id != APP_ID]  # the control plane reacting to ECS's events
    text = (out.stdout + out.stderr).strip().splitlines()
    reported = next((line for line in reversed(text) if line.strip()), "")
    return {
        "outcome": "SUCCEEDED" if out.returncode == 0 else "FAILED",
        "exit_code": out.returncode,
        "message": reported[:200],
        "seconds": seconds,
        "api_calls": len(calls),
        "ecs_calls": sum(1 for c in calls if c.service == "ecs"),
        "by_operation": counts(calls),
        "control_plane_calls_meanwhile": counts(meanwhile),
    }


def run_control_plane(b: Bench, body: dict[str, Any]) -> dict[str, Any]:
    mark = b.log.mark()
    result = b.run("POST", f"/environments/{ENV}/deployments", body)
    calls = b.log.since(mark, b.log.mark())
    invoke = sum(1 for c in calls if c.name == "lambda:Invoke")
    op = b.operation(str(result["op"]["id"]))
    error = op.get("error") or {}
    return {
        "outcome": op["status"],
        "message": f"{error.get('step', '')}: {error.get('message', '')}"[:200] if error else "",
        "seconds": result["seconds"],
        "api_calls": len(calls),
        "api_calls_by_control_plane": len(calls) - invoke,
        "ecs_calls": sum(1 for c in calls if c.service == "ecs"),
        "by_operation": counts(calls),
    }


def _side(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in ("seconds", "api_calls", "api_calls_by_control_plane", "ecs_calls") if k in rows[0]]
    return {
        "outcomes": sorted({r["outcome"] for r in rows}),
        "message_last_run": rows[-1]["message"],
        **(
            {"control_plane_calls_meanwhile_last_run": rows[-1]["control_plane_calls_meanwhile"]}
            if "control_plane_calls_meanwhile" in rows[-1]
            else {}
        ),
        **{k: summary([float(r[k]) for r in rows]) for k in keys},
        "by_operation_last_run": rows[-1]["by_operation"],
    }


def _force_redeploys(b: Bench, cli: str, runs: int, deploy_seconds: float) -> dict[str, Any]:
    """Both tools force-redeploy the same service, alternating who goes first; calls and time per run."""
    assert b.box.emulator is not None
    b.box.emulator.deploy_seconds = deploy_seconds
    rows: dict[str, list[dict[str, Any]]] = {"control_plane": [], "ecs_deploy": []}
    ratios: dict[str, list[float]] = {"all": [], "own": [], "seconds": []}
    for i in range(runs):
        order = ("control_plane", "ecs_deploy") if i % 2 == 0 else ("ecs_deploy", "control_plane")
        row: dict[str, dict[str, Any]] = {}
        for who in order:
            row[who] = run_control_plane(b, {}) if who == "control_plane" else run_ecs_deploy(b, cli, [], 600)
            rows[who].append(row[who])
        mine, theirs = row["control_plane"], row["ecs_deploy"]
        for key, value in (
            ("all", ratio(mine["api_calls"], theirs["api_calls"], 4)),
            ("own", ratio(mine["api_calls_by_control_plane"], theirs["api_calls"], 4)),
            ("seconds", ratio(mine["seconds"], theirs["seconds"], 4)),
        ):
            if value is not None:
                ratios[key].append(value)
    return {
        "deploy_seconds": deploy_seconds,
        "control_plane": _side(rows["control_plane"]),
        "ecs_deploy": _side(rows["ecs_deploy"]),
        "api_calls_ratio_control_plane_over_ecs_deploy": summary(ratios["all"]),
        "own_api_calls_ratio_control_plane_over_ecs_deploy": summary(ratios["own"]),
        "seconds_ratio_control_plane_over_ecs_deploy": summary(ratios["seconds"]),
    }


def run(size: Size) -> dict[str, Any]:
    cli = ecs_cli()
    if cli is None:
        return {"title": "Side by side with ecs-deploy", "available": False, "reason": "ecs-deploy is not installed"}
    version = ecs_deploy_version(cli)
    ecs_tasks.install()
    b = start_bench(deploy_seconds=size.deploy_seconds, build_seconds=size.build_seconds)
    broken: dict[str, list[dict[str, Any]]] = {"control_plane": [], "ecs_deploy": []}
    try:
        setup = b.run("POST", f"/environments/{ENV}/provision", {"source_version": "bench-v1"})
        if setup["status"] != "SUCCEEDED":
            raise RuntimeError(f"could not provision {ENV}: {setup['status']}")
        b.push_image(ENV, "broken-bench")
        repo_uri = b.box.client("ecr").describe_repositories(repositoryNames=[NAME])["repositories"][0]["repositoryUri"]
        startup = summary([_timed([cli, "--version"]) for _ in range(3)])
        short = _force_redeploys(b, cli, size.runs, size.deploy_seconds)
        long = _force_redeploys(b, cli, size.slow_runs, size.slow_deploy_seconds)
        assert b.box.emulator is not None
        b.box.emulator.deploy_seconds = size.deploy_seconds
        for _ in range(size.slow_runs):
            broken["control_plane"].append(run_control_plane(b, {"image_tag": "broken-bench"}))
            broken["ecs_deploy"].append(
                run_ecs_deploy(b, cli, ["--image", "cart", f"{repo_uri}:broken-bench"], size.ecs_deploy_timeout)
            )
            run_control_plane(b, {})  # back to a healthy service (not measured)
    finally:
        b.box.stop()

    def med(side: dict[str, Any], key: str) -> float | None:
        value = side[key]["median"]
        return None if value is None else float(value)

    own_short = med(short, "own_api_calls_ratio_control_plane_over_ecs_deploy")
    own_long = med(long, "own_api_calls_ratio_control_plane_over_ecs_deploy")
    all_short = med(short, "api_calls_ratio_control_plane_over_ecs_deploy")
    all_long = med(long, "api_calls_ratio_control_plane_over_ecs_deploy")
    return {
        "title": "Side by side with ecs-deploy",
        "available": True,
        "ecs_deploy_version": version,
        "ecs_deploy_command": f"ecs deploy {CLUSTER} {NAME} --force-new-deployment --timeout 600",
        "ecs_deploy_process_start_seconds": startup,
        "force_redeploy": short,
        "force_redeploy_long_rollout": long,
        "broken_image": {
            "ecs_deploy_timeout_s": size.ecs_deploy_timeout,
            "control_plane": _side(broken["control_plane"]),
            "ecs_deploy": _side(broken["ecs_deploy"]),
        },
        "targets": [
            {
                "text": (
                    f"the control plane's own API calls per force-redeploy under ecs-deploy's at a "
                    f"{size.deploy_seconds:g} s rollout (< 1) and at most a quarter at {size.slow_deploy_seconds:g} s"
                ),
                "met": own_short is not None and own_long is not None and own_short < 1 and own_long <= 0.25,
                "measured": (
                    f"x{own_short} at {size.deploy_seconds:g} s, x{own_long} at {size.slow_deploy_seconds:g} s "
                    "(calls the control plane makes; the Lambda invocations Step Functions and EventBridge make "
                    "for it aside)"
                ),
            },
            {
                "text": (
                    f"all API calls per force-redeploy under ecs-deploy's at {size.deploy_seconds:g} s (< 1) and at "
                    f"most a quarter at {size.slow_deploy_seconds:g} s"
                ),
                "met": all_short is not None and all_long is not None and all_short < 1 and all_long <= 0.25,
                "measured": f"x{all_short} at {size.deploy_seconds:g} s, x{all_long} at {size.slow_deploy_seconds:g} s",
            },
        ],
    }


def _timed(cmd: list[str]) -> float:
    t0 = time.time()
    subprocess.run(cmd, capture_output=True, timeout=60)
    return time.time() - t0
