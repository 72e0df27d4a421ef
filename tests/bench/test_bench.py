"""The benchmark harness runs at a tiny size (``python -m bench --quick``) and writes well-formed JSON.

No timed assertions: the figures' values are checked for shape and consistency only.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.figures import NAMES
from bench.stats import latency, quantile, summary

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = {"n", "median", "p25", "p75", "min", "max"}


def test_summary_and_quantiles() -> None:
    s = summary([4.0, 1.0, 3.0, 2.0])
    assert s == {"n": 4, "median": 2.5, "p25": 1.75, "p75": 3.25, "min": 1.0, "max": 4.0}
    assert summary([])["median"] is None
    assert quantile([7.0], 0.99) == 7.0
    assert latency([0.001] * 10)["p99_ms"] == pytest.approx(1.0)


def _summaries(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.keys() >= SUMMARY_KEYS:
            found.append((path, node))
        for key, value in node.items():
            found += _summaries(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _summaries(value, f"{path}[{i}]")
    return found


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--charts", str(out / "charts")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "latest.json").read_text()), out, proc.stdout


@pytest.mark.slow
def test_quick_run_writes_well_formed_json(quick_run: tuple[dict[str, Any], Path, str]) -> None:
    doc, out, stdout = quick_run
    assert doc["size"]["name"] == "quick"
    assert isinstance(doc["machine"]["nproc"], int) and doc["machine"]["python"]
    assert set(doc["figures"]) == set(NAMES)
    for name, fig in doc["figures"].items():
        assert fig["figure"] == name
        if fig.get("available") is False:
            assert fig["reason"], name
    for path, s in _summaries(doc):
        if s["n"]:
            assert s["min"] <= s["p25"] <= s["median"] <= s["p75"] <= s["max"], path
    for t in doc["targets"]:
        assert isinstance(t["met"], bool) and t["text"] and t["measured"]
    assert "figure" in stdout and "metric" in stdout  # the table was printed
    assert report.rows(doc["figures"])  # and renders from the JSON alone
    assert (out / "latest.json").read_text() == next(out.glob("bench-*-quick.json")).read_text()


@pytest.mark.slow
def test_quick_run_measures_the_core_figures(quick_run: tuple[dict[str, Any], Path, str]) -> None:
    figures = quick_run[0]["figures"]
    work = figures["work"]["operations"]
    for kind in ("provision", "build", "deploy", "deploy_10x", "destroy"):
        assert work[kind]["statuses"] == ["SUCCEEDED"], kind
        assert work[kind]["transitions"]["median"] > 0
        assert work[kind]["lambda_invocations"]["median"] > 0
        assert work[kind]["by_operation_last_run"], kind
    assert "ecs:UpdateService" in work["deploy"]["by_operation_last_run"]
    for name in ("work", "api", "scale", "footprint"):
        assert figures[name].get("available", True), f"{name}: {figures[name].get('reason')}"
    assert figures["api"]["registry"]["environments"] >= 3
    assert set(figures["api"]["latency"]) == {"in_process", "http", "in_process_memory_store"}
    scale = figures["scale"]
    assert scale["mode"] in ("nightly", "all_at_once")
    for n, entry in scale["by_n"].items():
        for mode in ("one_after_another", scale["mode"]):
            assert entry[mode]["succeeded"] == int(n)
            assert entry[mode]["transitions"]["median"] > 0
    assert figures["footprint"]["cold_import"]["app"]["heaviest_ms"]
    assert figures["startup"]["sandbox_start"]["ready_s"]["n"] == 1
    reaction = figures["reaction"]
    assert reaction.get("available") or reaction["reason"].startswith("not available")
    side = figures["ecs_deploy"]
    if side.get("available"):
        assert side["force_redeploy"]["ecs_deploy"]["outcomes"] == ["SUCCEEDED"]
        assert side["broken_image"]["control_plane"]["outcomes"] == ["FAILED"]


@pytest.mark.slow
def test_quick_run_draws_charts_when_matplotlib_is_there(quick_run: tuple[dict[str, Any], Path, str]) -> None:
    doc, out, _ = quick_run
    if importlib.util.find_spec("matplotlib") is None:
        assert "skipped" in doc["charts"]
        return
    assert "work.png" in doc["charts"]["files"]
    for name in doc["charts"]["files"]:
        assert (out / "charts" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
