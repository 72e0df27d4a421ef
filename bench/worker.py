"""Run one figure in this (fresh) interpreter: ``python -m bench.worker FIGURE [--quick] --out FILE``."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from bench.config import size
from bench.figures import NAMES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("figure", choices=NAMES)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    t0 = time.time()
    try:
        result = importlib.import_module(f"bench.figures.{args.figure}").run(size(args.quick))
    except Exception as exc:
        traceback.print_exc()
        result = {"available": False, "reason": f"the harness failed: {type(exc).__name__}: {exc}"}
    result["figure"] = args.figure
    result["bench_seconds"] = round(time.time() - t0, 2)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
