"""Benchmarks for the control plane, run against the sandbox: ``python -m bench [--quick] [--publish]``.

Each figure runs in a fresh interpreter (``python -m bench.worker FIGURE``) so moto's global state, imports and
memory never leak from one figure into the next; the parent collects the figures, prints the table, writes JSON
and draws the charts (docs/benchmarks.md explains every figure).
"""
