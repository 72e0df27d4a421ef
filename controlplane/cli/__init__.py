"""cartctl, the operators' command line for the control API (click and rich; never imported by the Lambdas)."""

from __future__ import annotations

from controlplane.cli.commands import cli, main

__all__ = ["cli", "main"]
