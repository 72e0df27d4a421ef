"""Follow an operation until it ends: a live view in a terminal, a line per change elsewhere; Ctrl-C offers to
cancel it (in a terminal) or stops following."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.live import Live

from controlplane.cli.api import ApiClient, quote
from controlplane.cli.errors import RETRYABLE, CliError, Rejected
from controlplane.cli.exitcodes import ExitCode
from controlplane.cli.render import Json, LiveView, PlainProgress
from controlplane.cli.timefmt import utcnow

FOOTER = "Ctrl-C: cancel the operation or stop following"


@dataclass
class Followed:
    op: Json
    exit_code: ExitCode
    last_progress: Any  # the last `progress` seen while it ran (the summary shows the final counts)


class Follower:
    def __init__(
        self,
        client: ApiClient,
        console: Console,
        *,
        live: bool,
        interactive: bool,
        confirm: Callable[[str], bool],
        notice: Callable[[str], None],
        interval: float = 1.0,
        patience: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.console = console  # where the live view or the progress lines go (never stdout with --json)
        self.live = live
        self.interactive = interactive
        self.confirm = confirm
        self.notice = notice
        self.interval = interval
        self.patience = patience  # how long polls may fail in a row (network, 5xx) before giving up
        self.sleep = sleep
        self.op: Json = {}
        self.last_progress: Any = None

    def now(self) -> datetime:
        return utcnow() + timedelta(seconds=self.client.clock_offset)

    def follow(self, op_id: str, first: Json | None = None) -> Followed:
        self.op = first if first is not None else self._fetch(op_id)
        self._remember_progress()
        cancel_sent = False
        while True:
            try:
                self._watch(op_id)
                return Followed(self.op, ExitCode.for_status(str(self.op.get("status"))), self.last_progress)
            except KeyboardInterrupt:
                if not self.interactive or cancel_sent or not self._ask(f"Cancel operation {op_id}?"):
                    self.notice(
                        f"Stopped following. Operation {op_id} is still running; "
                        f"follow it again with: cartctl follow {op_id}"
                    )
                    return Followed(self.op, ExitCode.DETACHED, self.last_progress)
                cancel_sent = True
                try:
                    self.op = self.client.request(
                        "POST", f"/operations/{quote(op_id)}/cancel", body={"rollout": "rollback"}
                    ).body
                    self.notice(f"Cancel requested for {op_id} (the rollout rolls back); following until it ends.")
                except Rejected as exc:  # e.g. it ended meanwhile: keep following, the next poll says how
                    self.notice(f"The cancel was refused: {exc.message}")

    def _ask(self, question: str) -> bool:
        try:
            return self.confirm(question)
        except (KeyboardInterrupt, EOFError):
            return False

    def _watch(self, op_id: str) -> None:
        if self.live:
            view = LiveView(self.op, self.now, footer=FOOTER)
            with Live(view, console=self.console, refresh_per_second=8, transient=True):
                self._loop(op_id, lambda: view.update(self.op))
        else:
            plain = PlainProgress()
            self._print_plain(plain)
            self._loop(op_id, lambda: self._print_plain(plain))

    def _print_plain(self, plain: PlainProgress) -> None:
        for line in plain.lines(self.op, self.now()):
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _loop(self, op_id: str, shown: Callable[[], None]) -> None:
        next_poll = time.monotonic()
        while self.op.get("status") == "RUNNING":
            next_poll += self.interval
            self.sleep(max(0.0, next_poll - time.monotonic()))
            self.op = self._fetch(op_id)
            self._remember_progress()
            shown()

    def _fetch(self, op_id: str) -> Json:
        """GET the operation; network failures and 5xx are retried until they have lasted ``patience``."""
        failing_since: float | None = None
        while True:
            try:
                op: Json = self.client.get(f"/operations/{quote(op_id)}")
                return op
            except RETRYABLE as exc:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > self.patience:
                    raise
                self._poll_failed(exc)
                self.sleep(self.interval)

    def _poll_failed(self, exc: CliError) -> None:
        self.console.print(f"poll failed, retrying: {exc.message}", style="dim", markup=False, highlight=False)

    def _remember_progress(self) -> None:
        progress = self.op.get("progress")
        if isinstance(progress, dict) and progress:
            merged = dict(self.last_progress or {})
            merged.update(progress)
            self.last_progress = merged
