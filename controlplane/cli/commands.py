"""cartctl: the operators' command line for the Cart Service control API."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from rich.console import Console

from controlplane import __version__
from controlplane.cli import render
from controlplane.cli.api import ApiClient, quote
from controlplane.cli.auth import Signer
from controlplane.cli.errors import CliError
from controlplane.cli.exitcodes import ExitCode, exit_code_table
from controlplane.cli.follow import Follower
from controlplane.cli.timefmt import fmt_when, parse_duration, parse_until, to_iso, utcnow

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
MATCHES = ("exact", "glob", "semver")
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
KINDS = ("provision", "build", "deploy", "destroy")
JSON_KEY = "cartctl.json"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def _epilog(*examples: str, exit_codes: bool = False) -> str:
    text = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples)
    if exit_codes:
        text += "\n\n\b\nExit codes:\n" + exit_code_table()
    else:
        text += "\n\nExit codes: see cartctl --help."
    return text


# -- settings, consoles, output ------------------------------------------------------------------------------------
@dataclass
class Settings:
    endpoint: str
    profile: str | None
    region: str | None
    sign: bool
    timeout: float
    poll_interval: float
    _client: ApiClient | None = field(default=None, repr=False)

    def client(self) -> ApiClient:
        if self._client is None:
            signer = Signer(self.endpoint, self.region, self.profile) if self.sign else None
            self._client = ApiClient(
                self.endpoint,
                signer=signer,
                timeout=self.timeout,
                describe_signer=signer.describe if signer else None,
            )
        return self._client


def stdout_console() -> Console:
    """Off a terminal (a pipeline's log), 160 columns unless COLUMNS says otherwise."""
    console = Console(highlight=False)
    if not console.is_terminal:
        columns = os.environ.get("COLUMNS", "")
        console = Console(highlight=False, width=int(columns) if columns.isdigit() and int(columns) >= 40 else 160)
    return console


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def show(console: Console, renderable: Any) -> None:
    """Print a renderable; off a terminal, without the padding rich adds to the ends of table lines."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    console.file.write("\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n")
    console.file.flush()


def emit_json(body: Any) -> None:
    click.echo(json.dumps(body, indent=2))


def notice(message: str) -> None:
    stderr_console().print(message, markup=False, soft_wrap=True)


def report(error: CliError, as_json: bool) -> None:
    if as_json and error.body is not None:
        emit_json(error.body)
    err = stderr_console()
    err.print(f"error: {error.message}", style="bold red", markup=False, soft_wrap=True)
    if error.hint:
        err.print(f"hint: {error.hint}", markup=False, soft_wrap=True)


class CartGroup(click.Group):
    """Turns cartctl's errors into their message and exit code; Ctrl-C outside a follow is exit 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            report(exc, bool(ctx.meta.get(JSON_KEY)))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            notice("interrupted")
            ctx.exit(ExitCode.DETACHED)


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[JSON_KEY] = value
    return value


def json_option(fn: F) -> F:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=_remember_json,
        help="Machine output on stdout: the API's JSON (with --wait: the final operation), nothing else.",
    )(fn)


def operation_options(fn: F) -> F:
    fn = click.option(
        "--idempotency-key",
        metavar="KEY",
        help="Sent as Idempotency-Key: the same key and request return the same operation (safe retries).",
    )(fn)
    fn = click.option("--wait", is_flag=True, help="Follow the started operation until it ends (as `follow`).")(fn)
    return fn


def complete_environment(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Tab completion of environment names, from the API (quickly, or nothing: completion never fails)."""
    root = ctx.find_root().params
    try:
        settings = Settings(
            root.get("endpoint") or DEFAULT_ENDPOINT,
            root.get("profile"),
            root.get("region"),
            not root.get("no_sign"),
            timeout=2.0,
            poll_interval=1.0,
        )
        names = [str(e.get("name")) for e in settings.client().collect("/environments", "environments", None)[0]]
    except Exception:
        return []
    return [n for n in names if n.startswith(incomplete)]


def env_argument(name: str) -> Callable[[F], F]:
    return click.argument(name, shell_complete=complete_environment)


def settings_of(ctx: click.Context) -> Settings:
    obj = ctx.find_object(Settings)
    assert obj is not None
    return obj


# -- the group -------------------------------------------------------------------------------------------------------
def _check_endpoint(ctx: click.Context, param: click.Parameter, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{value!r} is not an http(s) URL, e.g. {DEFAULT_ENDPOINT}")
    return value


@click.group(
    cls=CartGroup,
    context_settings=CONTEXT,
    epilog=_epilog(
        "cartctl environments list",
        "cartctl deploy dev --tag v1.4.2 --wait",
        "cartctl --endpoint https://abc123.execute-api.eu-central-1.amazonaws.com/v2 --profile ops \\",
        "        operations list prod --status FAILED",
        'eval "$(cartctl completion bash)"      # tab completion',
        exit_codes=True,
    )
    + "\n\n\b\nEnvironment: CARTCTL_ENDPOINT (--endpoint), AWS_PROFILE, AWS_REGION / AWS_DEFAULT_REGION,\n"
    "  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, CARTCTL_NO_SIGN=1 (--no-sign).",
)
@click.option(
    "--endpoint",
    envvar="CARTCTL_ENDPOINT",
    default=DEFAULT_ENDPOINT,
    show_default=True,
    callback=_check_endpoint,
    help="The control API: the sandbox, or the API Gateway URL (https://ID.execute-api.REGION.amazonaws.com/STAGE).",
)
@click.option("--profile", metavar="NAME", help="AWS profile to sign with (default: AWS_PROFILE, then the chain).")
@click.option(
    "--region",
    metavar="REGION",
    help="Region to sign for (default: the one in an execute-api URL, else AWS_REGION / the profile's).",
)
@click.option(
    "--no-sign",
    is_flag=True,
    envvar="CARTCTL_NO_SIGN",
    help="Send requests unsigned (only the local sandbox accepts that; it ignores signatures).",
)
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds per HTTP call."
)
@click.option(
    "--poll-interval", type=click.FloatRange(min=0.05), default=1.0, hidden=True, envvar="CARTCTL_POLL_INTERVAL"
)
@click.version_option(__version__, prog_name="cartctl")
@click.pass_context
def cli(
    ctx: click.Context,
    endpoint: str,
    profile: str | None,
    region: str | None,
    no_sign: bool,
    timeout: float,
    poll_interval: float,
) -> None:
    """Operate the Cart Service's environments through the control API: provision, build, deploy, destroy,
    and follow what runs.

    Every request is signed with SigV4 (service execute-api) with your AWS credentials (the standard chain:
    --profile, AWS_PROFILE, the AWS_* variables, SSO, instance roles). The local sandbox (python -m
    controlplane sandbox) checks no signature: against it, without credentials, requests go unsigned."""
    ctx.obj = Settings(endpoint, profile, region, not no_sign, timeout, poll_interval)


# -- following and starting operations ---------------------------------------------------------------------------------
def ask(question: str) -> bool:
    """y/N on the terminal (stderr, so stdout stays clean); Ctrl-C or end of input is no."""
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        return False


def follow_operation(ctx: click.Context, op_id: str, first: render.Json | None, as_json: bool) -> None:
    settings = settings_of(ctx)
    out, err = stdout_console(), stderr_console()
    progress = err if as_json else out
    live = progress.is_terminal and not progress.is_dumb_terminal
    if not live:
        progress = err  # a line per change on stderr; the summary alone on stdout
    follower = Follower(
        settings.client(),
        progress,
        live=live,
        interactive=live and sys.stdin.isatty(),
        confirm=ask,
        notice=notice,
        interval=settings.poll_interval,
    )
    result = follower.follow(op_id, first)
    if as_json:
        emit_json(result.op)
    elif result.exit_code is not ExitCode.DETACHED:
        show(out, render.summary(result.op, follower.now(), last_progress=result.last_progress))
    ctx.exit(result.exit_code)


def start_operation(
    ctx: click.Context, path: str, body: dict[str, Any], wait: bool, key: str | None, as_json: bool
) -> None:
    headers = {"Idempotency-Key": key} if key else None
    op = settings_of(ctx).client().request("POST", path, body=body, headers=headers).body
    if wait:
        follow_operation(ctx, str(op["id"]), op, as_json)
    if as_json:
        emit_json(op)
        return
    stdout_console().print(
        f"Started {op.get('kind')} of {op.get('environment')}: {op.get('id')} ({op.get('status')}).\n"
        f"Follow it: cartctl follow {op.get('id')}",
        markup=False,
    )


def _confirm_matches(env: str, confirm: str | None) -> None:
    if confirm is not None and confirm != env:
        raise click.BadParameter(
            f"must repeat the environment's name ({env!r}), got {confirm!r}", param_hint="--confirm"
        )


# -- environments ----------------------------------------------------------------------------------------------------
@cli.group(context_settings=CONTEXT, epilog=_epilog("cartctl environments list", "cartctl environments show dev"))
def environments() -> None:
    """List, inspect and configure environments."""


@environments.command(
    "list", epilog=_epilog("cartctl environments list", "cartctl environments list --json | jq '.environments[].name'")
)
@json_option
@click.pass_context
def environments_list(ctx: click.Context, as_json: bool) -> None:
    """Every environment with its status, image, tasks, lock and keep-alive (all pages)."""
    items, _ = settings_of(ctx).client().collect("/environments", "environments", None)
    if as_json:
        emit_json({"environments": items, "next": None})
        return
    if not items:
        stdout_console().print("no environments")
        return
    show(stdout_console(), render.environments_table(items, utcnow()))


@environments.command("show", epilog=_epilog("cartctl environments show dev", "cartctl environments show prod --json"))
@env_argument("name")
@json_option
@click.pass_context
def environments_show(ctx: click.Context, name: str, as_json: bool) -> None:
    """One environment: service as ECS reports it, what was intended, drift, settings, lock, keep-alive."""
    env = settings_of(ctx).client().get(f"/environments/{quote(name)}")
    if as_json:
        emit_json(env)
        return
    show(stdout_console(), render.environment_detail(env, utcnow()))


def _deploy_on_push(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    match, sep, rest = value.partition(":")
    if not sep or match not in MATCHES or not rest:
        raise click.BadParameter(f"{value!r}: expected MATCH:PATTERN[@REPO] with MATCH one of {', '.join(MATCHES)}")
    pattern, at, repository = rest.rpartition("@") if "@" in rest else (rest, "", "")
    if not pattern or (at and not repository):
        raise click.BadParameter(f"{value!r}: expected MATCH:PATTERN[@REPO], e.g. glob:release-*@cart-service-dev")
    return {"match": match, "pattern": pattern, "repository": repository or None}


@environments.command(
    "settings",
    epilog=_epilog(
        "cartctl environments settings dev --desired-count 2 --no-nightly-teardown",
        "cartctl environments settings staging --deploy-on-push 'semver:^1.4.0@cart-service-staging'",
        "cartctl environments settings dev --deploy-on-push glob:pr-* --push-quiet-seconds 60",
        "cartctl environments settings prod --no-protected --confirm prod",
        "cartctl environments settings dev --no-notification-topic",
    ),
)
@env_argument("name")
@click.option("--tier", type=click.Choice(["dev", "staging", "prod"]), help="Only when creating an environment.")
@click.option(
    "--desired-count", type=click.IntRange(min=0), metavar="N", help="Tasks to run (the tier's minimum applies)."
)
@click.option("--tier-default-count", is_flag=True, help="Go back to the tier's desired count (null).")
@click.option(
    "--nightly-teardown/--no-nightly-teardown", default=None, help="Tear it down on weekday nights (dev only)."
)
@click.option(
    "--deploy-on-push",
    metavar="MATCH:PATTERN[@REPO]",
    callback=_deploy_on_push,
    help="Deploy pushed images whose tag matches: exact:latest, glob:release-*, semver:^1.2.0 (@REPO: the repository).",
)
@click.option(
    "--push-quiet-seconds",
    type=click.IntRange(0, 300),
    metavar="N",
    help="With --deploy-on-push: wait N s after a push and stand down for a newer one (default 0).",
)
@click.option("--no-deploy-on-push", is_flag=True, help="Turn push-triggered deploys off.")
@click.option("--protected/--no-protected", default=None, help="Protected environments need --confirm to destroy.")
@click.option("--confirm", metavar="NAME", help="Repeat the environment's name (needed to change protection).")
@click.option("--notification-topic", metavar="TOPIC", help="SNS topic (name or ARN) for operation ends and reminders.")
@click.option("--no-notification-topic", is_flag=True, help="Turn notifications off.")
@click.option(
    "--if-match", type=int, metavar="VERSION", help="Only if the environment is still at VERSION (409 if not)."
)
@json_option
@click.pass_context
def environments_settings(
    ctx: click.Context,
    name: str,
    tier: str | None,
    desired_count: int | None,
    tier_default_count: bool,
    nightly_teardown: bool | None,
    deploy_on_push: dict[str, Any] | None,
    push_quiet_seconds: int | None,
    no_deploy_on_push: bool,
    protected: bool | None,
    confirm: str | None,
    notification_topic: str | None,
    no_notification_topic: bool,
    if_match: int | None,
    as_json: bool,
) -> None:
    """Change an environment's settings (or create one, with --tier). Only the options given change."""
    for a, b in (
        ("--desired-count", "--tier-default-count"),
        ("--deploy-on-push", "--no-deploy-on-push"),
        ("--notification-topic", "--no-notification-topic"),
    ):
        given = ctx.params[a.lstrip("-").replace("-", "_")]
        other = ctx.params[b.lstrip("-").replace("-", "_")]
        if given not in (None, False) and other:
            raise click.UsageError(f"{a} and {b} cannot be combined")
    if push_quiet_seconds is not None:
        if deploy_on_push is None:
            raise click.UsageError("--push-quiet-seconds goes with --deploy-on-push")
        deploy_on_push["quiet_seconds"] = push_quiet_seconds
    _confirm_matches(name, confirm)
    body: dict[str, Any] = {}
    if tier is not None:
        body["tier"] = tier
    if desired_count is not None or tier_default_count:
        body["desired_count"] = desired_count
    if nightly_teardown is not None:
        body["nightly_teardown"] = nightly_teardown
    if deploy_on_push is not None or no_deploy_on_push:
        body["deploy_on_push"] = deploy_on_push
    if protected is not None:
        body["protected"] = protected
    if notification_topic is not None or no_notification_topic:
        body["notification_topic"] = notification_topic
    if not body:
        raise click.UsageError("nothing to change: give at least one setting (see --help)")
    if confirm is not None:
        body["confirm"] = confirm
    headers = {"If-Match": str(if_match)} if if_match is not None else None
    reply = settings_of(ctx).client().request("PUT", f"/environments/{quote(name)}", body=body, headers=headers)
    if as_json:
        emit_json(reply.body)
        return
    console = stdout_console()
    console.print(f"{'Created' if reply.status == 201 else 'Updated'} {name}.", markup=False)
    show(console, render.environment_detail(reply.body, utcnow()))


# -- operations that change an environment --------------------------------------------------------------------------
@cli.command(
    epilog=_epilog(
        "cartctl provision dev --wait",
        "cartctl provision staging --source-version v1.4.2 --idempotency-key t-42",
        exit_codes=True,
    ),
)
@env_argument("env")
@click.option("--source-version", metavar="V", help="Build this source version if the repository has no image yet.")
@operation_options
@json_option
@click.pass_context
def provision(
    ctx: click.Context, env: str, source_version: str | None, wait: bool, idempotency_key: str | None, as_json: bool
) -> None:
    """Create the environment's service on its Terraform-made base, and wait for it to serve."""
    body = {"source_version": source_version} if source_version else {}
    start_operation(ctx, f"/environments/{quote(env)}/provision", body, wait, idempotency_key, as_json)


@cli.command(
    epilog=_epilog(
        "cartctl build dev --source-version main --wait",
        "cartctl build dev --source-version 3f2a9c1 --image-tag v1.4.2",
        exit_codes=True,
    ),
)
@env_argument("env")
@click.option("--source-version", metavar="V", required=True, help="Git ref or commit to build.")
@click.option("--image-tag", metavar="T", help="Tag to push the image under (default: the build's own).")
@operation_options
@json_option
@click.pass_context
def build(
    ctx: click.Context,
    env: str,
    source_version: str,
    image_tag: str | None,
    wait: bool,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Build and push an image with CodeBuild."""
    body: dict[str, Any] = {"source_version": source_version}
    if image_tag:
        body["image_tag"] = image_tag
    start_operation(ctx, f"/environments/{quote(env)}/builds", body, wait, idempotency_key, as_json)


def _digest(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not DIGEST_RE.match(value):
        raise click.BadParameter(f"{value!r} is not an image digest (sha256: and 64 lowercase hex digits)")
    return value


@cli.command(
    epilog=_epilog(
        "cartctl deploy dev --tag v1.4.2 --wait",
        "cartctl deploy prod --digest sha256:5f1d...e9 --wait --idempotency-key release-1.4.2",
        "cartctl deploy dev            # redeploy what runs now (fresh tasks)",
        exit_codes=True,
    ),
)
@env_argument("env")
@click.option("--tag", metavar="T", help="Deploy the image with this tag (pinned to its digest).")
@click.option("--digest", metavar="sha256:...", callback=_digest, help="Deploy exactly this image digest.")
@operation_options
@json_option
@click.pass_context
def deploy(
    ctx: click.Context,
    env: str,
    tag: str | None,
    digest: str | None,
    wait: bool,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Deploy an image to ECS and wait for the real outcome (a circuit-breaker rollback is FAILED).
    With neither --tag nor --digest, redeploys what the service runs now."""
    if tag and digest:
        raise click.UsageError("give --tag or --digest, not both")
    body = {"image_tag": tag} if tag else {"image_digest": digest} if digest else {}
    start_operation(ctx, f"/environments/{quote(env)}/deployments", body, wait, idempotency_key, as_json)


@cli.command(
    epilog=_epilog(
        "cartctl destroy dev --dry-run",
        "cartctl destroy dev --wait",
        "cartctl destroy staging --confirm staging --wait",
        exit_codes=True,
    ),
)
@env_argument("env")
@click.option("--dry-run", is_flag=True, help="Print the ordered plan (what each step removes) and change nothing.")
@click.option("--confirm", metavar="ENV", help="Repeat the environment's name (staging, prod and protected ones).")
@operation_options
@json_option
@click.pass_context
def destroy(
    ctx: click.Context,
    env: str,
    dry_run: bool,
    confirm: str | None,
    wait: bool,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Remove what the control plane made for the environment, in order. Never touches the Terraform state,
    the cart data table or the Terraform-owned base."""
    _confirm_matches(env, confirm)
    body = {"confirm": confirm} if confirm else {}
    path = f"/environments/{quote(env)}/destroy"
    if dry_run:
        if wait:
            raise click.UsageError("--dry-run changes nothing, so there is nothing to --wait for")
        plan = settings_of(ctx).client().request("POST", path, query={"dry_run": "true"}, body=body).body
        if as_json:
            emit_json(plan)
        else:
            show(stdout_console(), render.destroy_plan(plan))
        return
    start_operation(ctx, path, body, wait, idempotency_key, as_json)


# -- operations ---------------------------------------------------------------------------------------------------------
def _csv_choice(
    choices: tuple[str, ...], upper: bool
) -> Callable[[click.Context, click.Parameter, tuple[str, ...]], str | None]:
    def parse(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str | None:
        picked: list[str] = []
        for value in values:
            for item in value.split(","):
                item = item.strip().upper() if upper else item.strip().lower()
                if item not in choices:
                    raise click.BadParameter(f"{item!r} is not one of {', '.join(choices)}")
                if item not in picked:
                    picked.append(item)
        return ",".join(picked) or None

    return parse


@cli.group(
    context_settings=CONTEXT,
    epilog=_epilog(
        "cartctl operations list dev --status FAILED", "cartctl operations show deploy_dev_20261128t014325-ab12cd34"
    ),
)
def operations() -> None:
    """List and inspect operations."""


@operations.command(
    "list",
    epilog=_epilog(
        "cartctl operations list dev",
        "cartctl operations list dev --status FAILED,TIMED_OUT --kind deploy --limit 5",
        "cartctl operations list prod --all --json",
    ),
)
@env_argument("env")
@click.option(
    "--status",
    multiple=True,
    metavar="S[,S]",
    callback=_csv_choice(STATUSES, True),
    help=f"Only these: {', '.join(STATUSES)}.",
)
@click.option(
    "--kind",
    multiple=True,
    metavar="K[,K]",
    callback=_csv_choice(KINDS, False),
    help=f"Only these: {', '.join(KINDS)}.",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most N, newest first.")
@click.option("--all", "all_", is_flag=True, help="Every matching operation (follows the next cursor to the end).")
@json_option
@click.pass_context
def operations_list(
    ctx: click.Context, env: str, status: str | None, kind: str | None, limit: int, all_: bool, as_json: bool
) -> None:
    """An environment's operations, newest first."""
    items, cursor = (
        settings_of(ctx)
        .client()
        .collect(
            f"/environments/{quote(env)}/operations", "operations", None if all_ else limit, status=status, kind=kind
        )
    )
    if as_json:
        emit_json({"operations": items, "next": cursor})
        return
    console = stdout_console()
    if not items:
        console.print(f"no operations on {env}" + (" matching the filters" if status or kind else ""), markup=False)
        return
    show(console, render.operations_table(items, utcnow()))
    if cursor:
        console.print("(more: --limit N or --all)", style="dim")


@operations.command(
    "show",
    epilog=_epilog(
        "cartctl operations show deploy_dev_20261128t014325-ab12cd34", "cartctl operations show ID --json | jq .error"
    ),
)
@click.argument("op_id", metavar="ID")
@json_option
@click.pass_context
def operations_show(ctx: click.Context, op_id: str, as_json: bool) -> None:
    """One operation: status, duration, the error and its details, and the Gantt of its steps."""
    op = settings_of(ctx).client().get(f"/operations/{quote(op_id)}")
    if as_json:
        emit_json(op)
        return
    show(stdout_console(), render.summary(op, utcnow()))


@cli.command(
    epilog=_epilog(
        "cartctl follow deploy_dev_20261128t014325-ab12cd34", "cartctl follow ID --json > final.json", exit_codes=True
    ),
)
@click.argument("op_id", metavar="ID")
@json_option
@click.pass_context
def follow(ctx: click.Context, op_id: str, as_json: bool) -> None:
    """Follow an operation until it ends: live steps, rollout task counts and build phase, then the summary.
    Ctrl-C asks whether to cancel it; answering no (or a second Ctrl-C) stops following and leaves it running."""
    follow_operation(ctx, op_id, None, as_json)


@cli.command(
    epilog=_epilog(
        "cartctl cancel deploy_dev_20261128t014325-ab12cd34",
        "cartctl cancel ID --let-rollout-finish --wait",
        exit_codes=True,
    ),
)
@click.argument("op_id", metavar="ID")
@click.option("--let-rollout-finish", is_flag=True, help="Let a running ECS rollout finish instead of rolling it back.")
@click.option("--wait", is_flag=True, help="Follow the operation until it ends (as `follow`).")
@json_option
@click.pass_context
def cancel(ctx: click.Context, op_id: str, let_rollout_finish: bool, wait: bool, as_json: bool) -> None:
    """Cancel a running operation (its execution stops, the lock is released; a rollout rolls back by default).
    Cancelling again is harmless; an operation that already ended is refused (409)."""
    body = {"rollout": "finish" if let_rollout_finish else "rollback"}
    op = settings_of(ctx).client().request("POST", f"/operations/{quote(op_id)}/cancel", body=body).body
    if wait:
        follow_operation(ctx, op_id, op, as_json)
    if as_json:
        emit_json(op)
        return
    stdout_console().print(
        f"Cancel requested for {op_id} (rollout: {body['rollout']}); status {op.get('status')}.", markup=False
    )


# -- keep-alive ---------------------------------------------------------------------------------------------------------
@cli.group(
    "keep-alive",
    context_settings=CONTEXT,
    epilog=_epilog("cartctl keep-alive set dev --for 3h", "cartctl keep-alive clear dev"),
)
def keep_alive() -> None:
    """Keep a dev environment up through the nightly teardown."""


@keep_alive.command(
    "set",
    epilog=_epilog("cartctl keep-alive set dev --for 3h", "cartctl keep-alive set dev --until 2026-11-28T23:00:00Z"),
)
@env_argument("env")
@click.option("--until", "until_text", metavar="ISO", help="Until this time (ISO 8601; without an offset: local time).")
@click.option("--for", "for_text", metavar="DURATION", help="For this long from now: 3h, 90m, 1h30m, 2d.")
@json_option
@click.pass_context
def keep_alive_set(ctx: click.Context, env: str, until_text: str | None, for_text: str | None, as_json: bool) -> None:
    """Skip the nightly teardown of ENV until a time (at most 14 days ahead)."""
    if (until_text is None) == (for_text is None):
        raise click.UsageError("give exactly one of --until ISO or --for DURATION")
    try:
        until = parse_until(until_text) if until_text is not None else utcnow() + parse_duration(for_text or "")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--until" if until_text else "--for") from None
    until = until.replace(microsecond=0) + (timedelta(seconds=1) if until.microsecond else timedelta())
    path = f"/environments/{quote(env)}/keep-alive"
    body = settings_of(ctx).client().request("POST", path, body={"until": to_iso(until)}).body
    if as_json:
        emit_json(body)
        return
    stdout_console().print(
        f"{env} is kept alive until {fmt_when(body.get('keep_alive_until'), utcnow())}: "
        "the nightly teardown skips it until then.",
        markup=False,
    )


@keep_alive.command("clear", epilog=_epilog("cartctl keep-alive clear dev"))
@env_argument("env")
@json_option
@click.pass_context
def keep_alive_clear(ctx: click.Context, env: str, as_json: bool) -> None:
    """End ENV's keep-alive: the next nightly teardown may take it down again."""
    body = settings_of(ctx).client().request("DELETE", f"/environments/{quote(env)}/keep-alive").body
    if as_json:
        emit_json(body)
        return
    stdout_console().print(f"{env} has no keep-alive any more.", markup=False)


# -- shell completion -----------------------------------------------------------------------------------------------------
@cli.command(
    epilog=_epilog(
        'eval "$(cartctl completion bash)"     # in ~/.bashrc',
        'eval "$(cartctl completion zsh)"      # in ~/.zshrc',
        "cartctl completion fish > ~/.config/fish/completions/cartctl.fish",
        "_CARTCTL_COMPLETE=bash_source cartctl  # what the helper prints, from click itself",
    ),
)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@json_option
def completion(shell: str, as_json: bool) -> None:
    """Print the shell completion script for SHELL (click's, driven by _CARTCTL_COMPLETE)."""
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None
    script = completer(cli, {}, "cartctl", "_CARTCTL_COMPLETE").source()
    if as_json:
        emit_json({"shell": shell, "script": script})
        return
    click.echo(script)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="cartctl", complete_var="_CARTCTL_COMPLETE")
