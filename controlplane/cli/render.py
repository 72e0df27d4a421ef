"""What cartctl draws, from the API's JSON: the live view, the summary, the Gantt of the steps, the plain progress
lines, and the tables of environments and operations. Pure functions of (JSON, now) returning rich renderables."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.spinner import Spinner
from rich.style import Style
from rich.table import Table
from rich.text import Text

from controlplane.cli.timefmt import fmt_clock, fmt_duration, fmt_relative, fmt_short, fmt_when, parse_ts
from controlplane.domain.events import BUILD_FAILED_STATUSES

Json = dict[str, Any]

STATUS_STYLE = {
    "RUNNING": "bold yellow",
    "SUCCEEDED": "bold green",
    "FAILED": "bold red",
    "ABORTED": "bold magenta",
    "TIMED_OUT": "bold red",
}
STEP_MARK = {"SUCCEEDED": ("✓", "green"), "FAILED": ("✗", "red"), "RUNNING": ("●", "yellow")}
BAR_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "yellow"}
ENV_STYLE = {"ready": "green", "failed": "red", "absent": "dim", "destroyed": "dim"}


# -- small helpers ----------------------------------------------------------------------------------------------
def status_text(status: str | None) -> Text:
    value = status or "?"
    return Text(value, style=STATUS_STYLE.get(value, "bold"))


def short_digest(digest: str | None) -> str:
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:19]


def task_def_name(arn: str | None) -> str:
    """``...:task-definition/cart-service-dev:7`` -> ``cart-service-dev:7``."""
    if not arn:
        return "-"
    return arn.rsplit("/", 1)[-1]


def step_seconds(step: Json, now: datetime) -> float | None:
    """A step's duration, or for a running one how long it has run."""
    if step.get("duration_seconds") is not None:
        return float(step["duration_seconds"])
    started, ended = parse_ts(step.get("started_at")), parse_ts(step.get("ended_at"))
    if started is None:
        return None
    return max(0.0, ((ended or now) - started).total_seconds())


def op_span(op: Json, now: datetime) -> tuple[datetime | None, datetime | None]:
    """When the operation started and ended (now, while it runs)."""
    starts = [parse_ts(s.get("started_at")) for s in op.get("steps") or []]
    start = parse_ts(op.get("created_at")) or min((s for s in starts if s), default=None)
    end = parse_ts(op.get("ended_at"))
    if end is None and op.get("status") == "RUNNING":
        end = now
    if end is None:
        ends = [parse_ts(s.get("ended_at")) for s in op.get("steps") or []]
        end = max((e for e in ends if e), default=None)
    return start, end


def op_seconds(op: Json, now: datetime) -> float | None:
    start, end = op_span(op, now)
    return None if start is None or end is None else max(0.0, (end - start).total_seconds())


def _kv_grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _params(params: Any) -> str:
    if not isinstance(params, dict) or not params:
        return "-"
    return "  ".join(f"{k}={v}" for k, v in params.items() if k != "wait" and v is not None) or "-"


# -- progress: the ECS rollout and the build ----------------------------------------------------------------------
def rollout_text(rollout: Json, *, label: str | None = "rollout") -> Text:
    desired = int(rollout.get("desired_count") or 0)
    running = int(rollout.get("running_count") or 0)
    pending = int(rollout.get("pending_count") or 0)
    failed = int(rollout.get("failed_tasks") or 0)
    state = str(rollout.get("rollout_state") or "-")
    text = Text()
    if label:
        text.append(f"{label:<9}", style="bold")
    text.append(f"{state:<12}", style="red" if state == "FAILED" else "green" if state == "COMPLETED" else "yellow")
    text.append(f"running {running}/{desired}  pending {pending}  ")
    text.append(f"failed {failed}", style="red" if failed else "")
    width = 20
    filled = 0 if desired <= 0 else min(width, round(width * running / desired))
    text.append("  ")
    text.append("█" * filled, style="green")
    text.append("░" * (width - filled), style="dim")
    if rollout.get("task_definition_arn"):
        text.append(f"  {task_def_name(rollout['task_definition_arn'])}", style="dim")
    return text


def build_text(build: Json, *, label: str | None = "build") -> Text:
    text = Text()
    if label:
        text.append(f"{label:<9}", style="bold")
    text.append(f"phase {build.get('phase') or '-'}  ")
    status = str(build.get("status") or "-")
    text.append(status, style="red" if status in BUILD_FAILED_STATUSES else "yellow")
    if build.get("build_id"):
        text.append(f"  {build['build_id']}", style="dim")
    return text


def progress_texts(progress: Any, *, labels: bool = True) -> list[tuple[str, Text]]:
    """(Rollout|Build, its line) for what ``progress`` holds."""
    if not isinstance(progress, dict):
        return []
    texts = []
    if isinstance(progress.get("rollout"), dict):
        texts.append(("Rollout", rollout_text(progress["rollout"], label="rollout" if labels else None)))
    if isinstance(progress.get("build"), dict):
        texts.append(("Build", build_text(progress["build"], label="build" if labels else None)))
    return texts


# -- the live view ----------------------------------------------------------------------------------------------
class LiveView:
    """The running operation: a header, each step with its state and elapsed time, the rollout and the build.

    Rendered from the last polled operation and the current time, so elapsed times tick between polls."""

    def __init__(self, op: Json, clock: Callable[[], datetime], *, footer: str | None = None) -> None:
        self.op = op
        self.clock = clock
        self.footer = footer
        self.spinner = Spinner("dots", style="yellow")

    def update(self, op: Json) -> None:
        self.op = op

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from live_parts(self.op, self.clock(), self.spinner.render(console.get_time()), self.footer)


def live_parts(
    op: Json, now: datetime, running_mark: RenderableType | None = None, footer: str | None = None
) -> RenderResult:
    header = Text()
    header.append(f"{op.get('kind', '?')} {op.get('environment', '?')}", style="bold")
    header.append(f"  {op.get('id', '?')}  ", style="dim")
    header.append_text(status_text(op.get("status")))
    header.append(f"  {fmt_duration(op_seconds(op, now))}")
    if op.get("cancel"):
        header.append(f"  cancel requested ({op['cancel'].get('mode', 'rollback')})", style="magenta")
    yield header
    table = Table(box=None, show_header=True, header_style="dim", pad_edge=False, padding=(0, 1))
    table.add_column("", width=1, no_wrap=True)
    table.add_column("step", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("elapsed", justify="right", no_wrap=True)
    table.add_column("", style="dim", overflow="ellipsis", no_wrap=True)
    for step in op.get("steps") or []:
        status = str(step.get("status") or "?")
        mark_char, style = STEP_MARK.get(status, ("?", ""))
        mark: RenderableType = (
            running_mark if (status == "RUNNING" and running_mark is not None) else Text(mark_char, style)
        )
        extra = []
        if int(step.get("attempts") or 1) > 1:
            extra.append(f"attempt {step['attempts']}")
        if int(step.get("polls") or 0):
            extra.append(f"polls {step['polls']}")
        table.add_row(
            mark,
            step.get("name", "?"),
            Text(status, style=style),
            fmt_duration(step_seconds(step, now)),
            "  ".join(extra),
        )
    yield table
    texts = progress_texts(op.get("progress"))
    if texts:
        yield Text("")
        yield from (text for _, text in texts)
    if footer:
        yield Text(footer, style="dim")


# -- the Gantt of the steps ---------------------------------------------------------------------------------------
class Gantt:
    """Each step's start offset and duration as a bar on one time axis from the operation's start to its end."""

    def __init__(self, op: Json, now: datetime) -> None:
        self.op = op
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from gantt_lines(self.op, self.now, options.max_width)


def gantt_lines(op: Json, now: datetime, width: int) -> list[Text]:
    steps = [s for s in op.get("steps") or [] if parse_ts(s.get("started_at"))]
    start, end = op_span(op, now)
    if not steps or start is None or end is None:
        return [Text("(no steps yet)", style="dim")]
    total = max((end - start).total_seconds(), 1e-3)
    label_w = min(max(len(str(s.get("name", ""))) for s in steps) + 2, 32)
    dur_w = 8
    bar_w = max(10, width - label_w - dur_w - 3)
    lines = []
    for step in steps:
        begin = (parse_ts(step["started_at"]) or start) - start
        seconds = step_seconds(step, now) or 0.0
        col0 = min(bar_w - 1, max(0, round(begin.total_seconds() / total * bar_w)))
        col1 = min(bar_w, max(col0 + 1, round((begin.total_seconds() + seconds) / total * bar_w)))
        status = str(step.get("status") or "?")
        mark_char, mark_style = STEP_MARK.get(status, ("?", ""))
        line = Text()
        line.append(mark_char + " ", style=mark_style)
        line.append(str(step.get("name", "?"))[: label_w - 2].ljust(label_w - 2))
        line.append(" │")
        line.append(" " * col0)
        line.append("█" * (col1 - col0), style=BAR_STYLE.get(status, ""))
        line.append(" " * (bar_w - col1))
        line.append(fmt_duration(seconds).rjust(dur_w))
        lines.append(line)
    lines.append(Text(" " * label_w + " └" + "─" * bar_w, style="dim"))
    lines.append(Text(" " * (label_w + 2) + _axis_labels(total, bar_w), style="dim"))
    return lines


def _axis_labels(total: float, width: int) -> str:
    """Tick labels (0s ... total) placed under the axis without overlapping."""
    cells = [" "] * width
    ticks = 4 if width >= 40 else 2
    taken = -1
    for i in range(ticks + 1):
        label = fmt_duration(total * i / ticks) if i else "0s"
        pos = round(width * i / ticks)
        if i == ticks:
            pos = width - len(label)
        elif i:
            pos -= len(label) // 2
        if pos <= taken or pos < 0 or pos + len(label) > width:
            continue
        cells[pos : pos + len(label)] = list(label)
        taken = pos + len(label)
    return "".join(cells)


# -- the summary -------------------------------------------------------------------------------------------------
def summary(op: Json, now: datetime, *, last_progress: Any = None) -> Group:
    """One screen: status, duration, the error with its details, and the Gantt of the steps."""
    parts: list[RenderableType] = []
    title = Text()
    title.append(f"{op.get('kind', '?')} {op.get('environment', '?')}", style="bold")
    title.append(f"  {op.get('id', '?')}", style="dim")
    parts.append(title)
    grid = _kv_grid()
    status = status_text(op.get("status"))
    seconds = op_seconds(op, now)
    status.append(
        f"  {'running for' if op.get('status') == 'RUNNING' else 'after'} {fmt_duration(seconds)}", style="none"
    )
    grid.add_row("Status", status)
    grid.add_row("Started", f"{fmt_when(op.get('created_at'), now)}  trigger {op.get('trigger', '-')}")
    if op.get("ended_at"):
        grid.add_row("Ended", fmt_when(op.get("ended_at"), now))
    grid.add_row("Params", _params(op.get("params")))
    cancel = op.get("cancel")
    if isinstance(cancel, dict):
        grid.add_row("Cancel", f"requested {fmt_when(cancel.get('requested_at'), now)}, rollout {cancel.get('mode')}")
    result = op.get("result")
    if op.get("status") == "SUCCEEDED" and isinstance(result, dict) and result:
        grid.add_row("Result", _params(result))
    error = op.get("error")
    if isinstance(error, dict):
        _error_rows(grid, error, now)
    progress = op.get("progress") if op.get("status") == "RUNNING" else last_progress
    for label, text in progress_texts(progress, labels=False):
        if op.get("status") != "RUNNING":
            text.append("  (last seen)", style="dim")
        grid.add_row(label, text)
    parts.append(grid)
    parts.append(Text(""))
    parts.append(Text("Steps", style="bold"))
    parts.append(Gantt(op, now))
    return Group(*parts)


def _error_rows(grid: Table, error: Json, now: datetime) -> None:
    head = Text()
    head.append(str(error.get("step") or "-"), style="bold")
    head.append("  ")
    head.append(str(error.get("code") or "Error"), style="bold red")
    grid.add_row(Text("Error", style="bold red"), head)
    if error.get("message"):
        grid.add_row("", str(error["message"]))
    details = error.get("details")
    if not isinstance(details, dict):
        return
    back = details.get("rolled_back_to")
    if isinstance(back, dict):
        revision = back.get("revision")
        line = task_def_name(back.get("task_definition_arn"))
        if revision is not None:
            line += f" (revision {revision})"
        if back.get("image_digest"):
            line += f"  image {back['image_digest']}"
        grid.add_row("Rolled back to", line)
    tasks = details.get("stopped_tasks")
    if isinstance(tasks, list) and tasks:
        lines = []
        for task in tasks[:5]:
            task_id = str(task.get("task_arn") or "?").rsplit("/", 1)[-1]
            code = task.get("exit_code")
            lines.append(
                f"{task_id[:12]}  {task.get('container') or '-'}  "
                f"exit {code if code is not None else '-'}  {task.get('stopped_reason') or ''}".rstrip()
            )
        if len(tasks) > 5:
            lines.append(f"... and {len(tasks) - 5} more")
        grid.add_row("Stopped tasks", "\n".join(lines))
    events = details.get("service_events")
    if isinstance(events, list) and events:
        lines = []
        for event in events[-5:]:
            at = parse_ts(event.get("at"))
            lines.append(f"{fmt_clock(at) if at else '--:--:--'}  {event.get('message', '')}")
        grid.add_row("Service events", "\n".join(lines))
    logs = details.get("logs")
    if isinstance(logs, dict):
        lines = [f"{logs.get('group') or '-'}  {logs.get('stream') or ''}".rstrip()]
        text = Text("\n".join(lines))
        if logs.get("console_url"):
            url = str(logs["console_url"])
            text.append("\n" + url, style=Style(link=url))
        grid.add_row("Logs", text)
    build = details.get("build")
    if isinstance(build, dict):
        lines = [f"failed in phase {build.get('phase') or '-'}"]
        lines += [str(c) for c in build.get("phase_context") or []]
        text = Text("\n".join(lines))
        if build.get("logs_url"):
            url = str(build["logs_url"])
            text.append("\n" + url, style=Style(link=url))
        grid.add_row("Build", text)


# -- plain progress lines (no terminal) ---------------------------------------------------------------------------
class PlainProgress:
    """One line per change of the followed operation: steps, rollout counts, build phase, status, cancel."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    def lines(self, op: Json, now: datetime) -> list[str]:
        out: list[str] = []
        clock = fmt_clock(now)
        op_id = op.get("id", "?")
        if "op" not in self.seen:
            out.append(f"{clock} {op_id}: {op.get('kind')} {op.get('environment')} {op.get('status')}")
            self.seen["op"] = op.get("status")
        for step in op.get("steps") or []:
            key, status = f"step:{step.get('name')}", step.get("status")
            if self.seen.get(key) != status:
                self.seen[key] = status
                took = f" ({fmt_duration(step_seconds(step, now))})" if status != "RUNNING" else ""
                out.append(f"{clock} {op_id}: step {step.get('name')} {status}{took}")
        progress = op.get("progress") or {}
        rollout = progress.get("rollout") if isinstance(progress, dict) else None
        if isinstance(rollout, dict):
            keys = ("running_count", "desired_count", "pending_count", "failed_tasks", "rollout_state")
            counts = tuple(rollout.get(k) for k in keys)
            if self.seen.get("rollout") != counts:
                self.seen["rollout"] = counts
                out.append(
                    f"{clock} {op_id}: rollout {counts[4]} running {counts[0]}/{counts[1]} "
                    f"pending {counts[2]} failed {counts[3]}"
                )
        build = progress.get("build") if isinstance(progress, dict) else None
        if isinstance(build, dict):
            phase = (build.get("phase"), build.get("status"))
            if self.seen.get("build") != phase:
                self.seen["build"] = phase
                out.append(f"{clock} {op_id}: build phase {phase[0]} {phase[1]}")
        if op.get("cancel") and not self.seen.get("cancel"):
            self.seen["cancel"] = True
            out.append(f"{clock} {op_id}: cancel requested (rollout {op['cancel'].get('mode')})")
        if self.seen.get("op") != op.get("status"):
            self.seen["op"] = op.get("status")
            out.append(f"{clock} {op_id}: {op.get('status')} after {fmt_duration(op_seconds(op, now))}")
        return out


# -- environments, operations, plans ------------------------------------------------------------------------------
class EnvironmentsTable:
    """Environments; narrower terminals get the lock's kind instead of its operation id."""

    def __init__(self, envs: Iterable[Json], now: datetime) -> None:
        self.envs = list(envs)
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.max_width >= 120
        table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 2 if wide else 1, 0, 0))
        for column in ("NAME", "TIER", "STATUS", "IMAGE", "TASKS", "LOCKED BY", "KEEP-ALIVE", "UPDATED"):
            table.add_column(column, no_wrap=True, overflow="ellipsis")
        for env in self.envs:
            service = env.get("service") or {}
            image = service.get("image_tag") or short_digest(service.get("image_digest"))
            tasks = f"{service.get('running_count', 0)}/{service.get('desired_count', 0)}" if service else "-"
            status = str(env.get("status") or "?")
            keep = parse_ts(env.get("keep_alive_until"))
            updated = parse_ts(env.get("updated_at"))
            locked = str(env.get("locked_by") or "-")
            if not wide and locked != "-":
                locked = locked.split("_", 1)[0]  # an operation id starts with its kind: deploy_dev_...
            table.add_row(
                str(env.get("name")),
                str(env.get("tier") or "-"),
                Text(status + (" (drift)" if env.get("drift") else ""), style=ENV_STYLE.get(status, "yellow")),
                image if service else "-",
                tasks,
                locked,
                fmt_relative(keep, self.now) if keep else "-",
                fmt_relative(updated, self.now) if updated else "-",
            )
        yield table


def environments_table(envs: Iterable[Json], now: datetime) -> EnvironmentsTable:
    return EnvironmentsTable(envs, now)


def environment_detail(env: Json, now: datetime) -> Group:
    grid = _kv_grid()
    status = str(env.get("status") or "?")
    grid.add_row("Name", f"{env.get('name')}  (tier {env.get('tier')}, from {env.get('tier_source') or '-'})")
    grid.add_row("Status", Text(status, style=ENV_STYLE.get(status, "yellow")))
    grid.add_row("Version", str(env.get("version", "-")))
    if env.get("url"):
        grid.add_row("URL", str(env["url"]))
    if env.get("locked_by"):
        grid.add_row("Locked by", f"{env['locked_by']} (until {fmt_when(env.get('lock_expires_at'), now)})")
    service = env.get("service")
    if isinstance(service, dict):
        grid.add_row(
            "Service",
            f"{service.get('status', '-')}  {task_def_name(service.get('task_definition_arn'))}  "
            f"tasks {service.get('running_count', 0)}/{service.get('desired_count', 0)}  "
            f"rollout {service.get('rollout_state') or '-'}",
        )
        grid.add_row("Image", f"{service.get('image_tag') or '-'}  {service.get('image_digest') or '-'}")
        grid.add_row("Observed", fmt_when(service.get("observed_at"), now))
    else:
        grid.add_row("Service", "none (never provisioned, or destroyed)")
    intended = env.get("intended")
    if isinstance(intended, dict):
        grid.add_row(
            "Intended",
            f"{task_def_name(intended.get('task_definition_arn'))}  {intended.get('image_tag') or '-'}  "
            f"{intended.get('image_digest') or '-'}  by {intended.get('operation_id') or '-'} "
            f"{fmt_when(intended.get('deployed_at'), now)}",
        )
    if env.get("drift"):
        grid.add_row(Text("Drift", style="bold red"), Text(str(env["drift"]), style="red"))
    settings = env.get("settings") or {}
    dop = settings.get("deploy_on_push")
    grid.add_row(
        "Settings",
        "\n".join(
            [
                f"desired_count {settings.get('desired_count') if settings.get('desired_count') is not None else 'tier default'}",
                f"nightly_teardown {'on' if settings.get('nightly_teardown') else 'off'}",
                "deploy_on_push "
                + (
                    f"{dop.get('match')}:{dop.get('pattern')}@{dop.get('repository') or '-'}"
                    + (f" (quiet {dop['quiet_seconds']}s)" if dop.get("quiet_seconds") else "")
                    if isinstance(dop, dict)
                    else "off"
                ),
                f"protected {'yes' if settings.get('protected') else 'no'}",
                f"notification_topic {settings.get('notification_topic') or 'off'}",
            ]
        ),
    )
    grid.add_row("Keep-alive", fmt_when(env.get("keep_alive_until"), now) if env.get("keep_alive_until") else "none")
    if env.get("pending_push"):
        grid.add_row("Pending push", str(env["pending_push"]))
    grid.add_row("Last operation", str(env.get("last_operation_id") or "-"))
    grid.add_row("Updated", fmt_when(env.get("updated_at"), now))
    return Group(grid)


class OperationsTable:
    """Operations, newest first; narrower terminals get relative start times and a tighter layout (below 90
    columns, no duration: an operation id alone takes 35)."""

    def __init__(self, ops: Iterable[Json], now: datetime) -> None:
        self.ops = list(ops)
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.max_width >= 120
        timed = options.max_width >= 90
        table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 2 if wide else 1, 0, 0))
        table.add_column("ID", no_wrap=True)
        table.add_column("STATUS", no_wrap=True)
        if wide:
            table.add_column("TRIGGER", no_wrap=True)
        table.add_column("STARTED", no_wrap=True)
        if timed:
            table.add_column("DURATION", no_wrap=True, justify="right")
        table.add_column("ERROR", overflow="fold")
        for op in self.ops:
            error = op.get("error") if isinstance(op.get("error"), dict) else None
            started = parse_ts(op.get("created_at"))
            when = "-"
            if started:
                when = fmt_relative(started, self.now)
                if wide:
                    when = f"{fmt_short(started, self.now)} ({when})"
            cells: list[RenderableType] = [str(op.get("id")), status_text(op.get("status"))]
            if wide:
                cells.append(str(op.get("trigger") or "-"))
            cells.append(when)
            if timed:
                cells.append(fmt_duration(op_seconds(op, self.now)))
            if error:
                cells.append(f"{error.get('step')}: {error.get('code')}" if wide else str(error.get("code")))
            else:
                cells.append("")
            table.add_row(*cells)
        yield table


def operations_table(ops: Iterable[Json], now: datetime) -> OperationsTable:
    return OperationsTable(ops, now)


def destroy_plan(plan: Json) -> Group:
    parts: list[RenderableType] = []
    title = Text(f"Destroy plan for {plan.get('environment')} (dry run: nothing was changed)", style="bold")
    parts.append(title)
    if plan.get("requires_confirmation"):
        parts.append(Text(f"Needs confirmation: --confirm {plan.get('environment')}", style="yellow"))
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 2))
    table.add_column("#", justify="right")
    table.add_column("STEP", no_wrap=True)
    table.add_column("ACTION", overflow="fold")
    table.add_column("RESOURCES", overflow="fold")
    for number, step in enumerate(plan.get("steps") or [], 1):
        table.add_row(
            str(number), str(step.get("step")), str(step.get("action")), "\n".join(step.get("resources") or [])
        )
    parts.append(table)
    never = plan.get("never_touched") or []
    if never:
        parts.append(Text("Never touched:", style="bold"))
        parts.extend(Text(f"  - {item}") for item in never)
    return Group(*parts)
