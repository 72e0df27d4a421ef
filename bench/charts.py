"""PNG charts of the figures (matplotlib, Agg backend). Returns the files written."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _err(s: dict[str, Any]) -> tuple[float, float]:
    """Error bar (below, above) from the median to p25 and p75."""
    if not s or s.get("median") is None:
        return 0.0, 0.0
    return max(0.0, s["median"] - s["p25"]), max(0.0, s["p75"] - s["median"])


def draw(figures: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written.append(name)

    f = figures.get("work", {})
    if "operations" in f:
        order = ("provision", "build", "deploy", "deploy_10x", "destroy")
        kinds = [k for k in order if k in f["operations"]]
        metrics = (
            ("transitions", "state transitions"),
            ("lambda_invocations", "Lambda invocations"),
            ("api_calls_by_control_plane", "AWS API calls (excl. SFN->Lambda)"),
        )
        fig, ax = plt.subplots(figsize=(9, 4.5))
        width = 0.26
        for i, (key, label) in enumerate(metrics):
            vals = [f["operations"][k][key]["median"] for k in kinds]
            errs = list(zip(*[_err(f["operations"][k][key]) for k in kinds], strict=True))
            xs = [x + (i - 1) * width for x in range(len(kinds))]
            ax.bar(xs, vals, width, yerr=errs, capsize=3, label=label)
            for x, v in zip(xs, vals, strict=True):
                ax.text(x, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(kinds)), [k.replace("deploy_10x", "deploy\n(10x rollout)") for k in kinds])
        ax.set_ylabel("per operation (median, bars p25-p75)")
        ax.set_title("Work per operation in the sandbox")
        ax.legend(fontsize=8)
        save(fig, "work.png")

    f = figures.get("ecs_deploy", {})
    if f.get("available"):
        fr = f["force_redeploy"]
        who = ("control_plane", "ecs_deploy")
        labels = ("control plane", f"ecs-deploy {f['ecs_deploy_version'].split()[-1]}")
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
        for ax, key, title in (
            (a1, "api_calls", "AWS API calls per force-redeploy"),
            (a2, "seconds", "seconds until the outcome"),
        ):
            vals = [fr[w][key]["median"] for w in who]
            errs = list(zip(*[_err(fr[w][key]) for w in who], strict=True))
            ax.bar(labels, vals, yerr=errs, capsize=4, color=["#4C72B0", "#DD8452"])
            if key == "api_calls":
                ecs = [fr[w]["ecs_calls"]["median"] for w in who]
                ax.bar(labels, ecs, color="none", edgecolor="black", hatch="//", label="of which ECS")
                ax.legend(fontsize=8)
            for i, v in enumerate(vals):
                ax.text(i, v, f"{v:.1f}" if key == "seconds" else f"{v:.0f}", ha="center", va="bottom")
            ax.set_title(title, fontsize=10)
        bi = f["broken_image"]
        fig.suptitle(
            "Broken image: control plane "
            f"{'/'.join(bi['control_plane']['outcomes'])} in {bi['control_plane']['seconds']['median']:.1f} s; "
            f"ecs-deploy {'/'.join(bi['ecs_deploy']['outcomes'])} in {bi['ecs_deploy']['seconds']['median']:.1f} s",
            fontsize=9,
        )
        save(fig, "ecs_deploy.png")

    f = figures.get("scale", {})
    if "by_n" in f:
        ns = sorted(int(n) for n in f["by_n"])
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        mode2 = str(f.get("mode", "all_at_once"))
        label2 = "nightly run (Map)" if mode2 == "nightly" else "all at once (API)"
        for mode, label in (("one_after_another", "one after another"), (mode2, label2)):
            secs = [f["by_n"][str(n)][mode]["seconds"]["median"] for n in ns]
            calls = [f["by_n"][str(n)][mode]["api_calls"]["median"] for n in ns]
            a1.plot(ns, secs, marker="o", label=label)
            a2.plot(ns, calls, marker="o", label=label)
        conc = f.get("configured_concurrency")
        if conc:
            seq = [f["by_n"][str(n)]["one_after_another"]["seconds"]["median"] for n in ns]
            ideal = [t / min(n, conc) for t, n in zip(seq, ns, strict=True)]
            a1.plot(ns, ideal, linestyle="--", color="grey", label=f"one after another / min(N, {conc})")
        a1.set_xlabel("dev environments torn down")
        a1.set_ylabel("wall time (s)")
        a1.set_title("Teardown wall time", fontsize=10)
        a2.set_xlabel("dev environments torn down")
        a2.set_ylabel("AWS API calls")
        a2.set_title("Teardown AWS API calls", fontsize=10)
        a1.legend(fontsize=8)
        save(fig, "scale.png")

    f = figures.get("api", {})
    if "latency" in f:
        modes = list(f["latency"])
        routes = list(f["latency"][modes[0]])
        fig, ax = plt.subplots(figsize=(9, 4))
        width = 0.8 / (2 * len(routes))
        i = 0
        for route in routes:
            for q in ("p50_ms", "p99_ms"):
                xs = [m + (i - len(routes) + 0.5) * width for m in range(len(modes))]
                ax.bar(xs, [max(f["latency"][m][route][q], 0.01) for m in modes], width, label=f"{route} {q[:3]}")
                i += 1
        ax.axhline(50, color="red", linestyle="--", linewidth=1, label="target p99 50 ms (in-process)")
        ax.set_yscale("log")
        ax.set_xticks(range(len(modes)), [m.replace("_", " ") for m in modes])
        ax.set_ylabel("latency (ms, log scale)")
        reg = f["registry"]
        ax.set_title(
            f"API latency, {reg['environments']} environments / {reg['operations_added']} operations", fontsize=10
        )
        ax.legend(fontsize=7)
        save(fig, "api.png")

    f = figures.get("footprint", {})
    if "cold_import" in f:
        heavy = f["cold_import"]["app"]["heaviest_ms"]
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.barh([h["package"] for h in heavy][::-1], [h["self_ms"] for h in heavy][::-1])
        total = f["cold_import"]["app"]["import_ms"]["median"]
        zipped = f.get("zip", {}).get("zip_mb")
        ax.set_xlabel("self import time (ms, median)")
        ax.set_title(
            f"import app: {total:.0f} ms cold" + (f"; deployment zip {zipped} MB" if zipped else ""), fontsize=10
        )
        save(fig, "footprint.png")

    f = figures.get("reaction", {})
    if f.get("available"):
        fig, ax = plt.subplots(figsize=(7, 3.5))
        keys = (
            ("put_image_s", "PutImage"),
            ("push_to_update_service_s", "-> UpdateService"),
            ("push_to_operation_end_s", "-> deploy end"),
        )
        vals = [f[k]["median"] for k, _ in keys]
        ax.bar(
            [label for _, label in keys], vals, yerr=list(zip(*[_err(f[k]) for k, _ in keys], strict=True)), capsize=4
        )
        ax.set_ylabel("seconds from the push")
        ax.set_title("Reaction to an ECR push", fontsize=10)
        save(fig, "reaction.png")

    f = figures.get("startup", {})
    if "sandbox_start" in f:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        items = [("sandbox import", f["sandbox_start"]["import_s"]), ("sandbox start", f["sandbox_start"]["start_s"])]
        if "seconds" in f.get("demo", {}):
            items.append(("demo end to end", f["demo"]["seconds"]))
        ax.bar(
            [k for k, _ in items],
            [s["median"] for _, s in items],
            yerr=list(zip(*[_err(s) for _, s in items], strict=True)),
            capsize=4,
        )
        ax.set_ylabel("seconds")
        ax.set_title("Sandbox start-up and the demo", fontsize=10)
        save(fig, "startup.png")
    return written
