"""The `cmo-agent` command line. Heavy libraries load inside commands so `--help` answers at once.

One error boundary (`_GuardedGroup`) turns every failure of input or environment into one line on
stderr and exit code 2; untrusted text is printed as text (Rich markup off), controls stripped.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from cmo_agent.core.text import is_valid_utf8, one_line, terminal_text

if TYPE_CHECKING:
    from rich.console import Console

    from cmo_agent.core.config import Settings
    from cmo_agent.runner import RunOutcome

EXIT_CODES = {"done": 0, "queued": 0, "failed": 1, "paused": 3, "waiting": 3, "awaiting_approval": 3}
EXIT_INTERRUPTED = 130
_SECRET_VARIABLES = ("GITHUB_TOKEN", "OPENAI_API_KEY", "SMTP_PASSWORD", "IMAP_PASSWORD")


class _GuardedGroup(TyperGroup):
    """Runs a command; a failure of input or environment becomes one line and exit code 2."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context, which it does not export
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except typer.TyperException as exc:  # usage errors: a bad option, a missing argument
            context = getattr(exc, "ctx", None)
            path = str(getattr(context, "command_path", ""))
            command = f" {path.split(' ', 1)[1]}" if " " in path else ""
            _fail(f"{exc.format_message()} (see `cmo-agent{command} --help`)")
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)
        except Exception as exc:
            code, message = _describe_failure(exc)
            if os.environ.get("CMO_DEBUG"):
                traceback.print_exc()
            _fail(message, code)


def _describe_failure(exc: Exception) -> tuple[int, str]:
    """(exit code, one line) for an exception that reached the top of a command."""
    from cmo_agent.core.errors import CmoError, ConfigError

    if isinstance(exc, ConfigError):
        return 2, str(exc)
    if isinstance(exc, CmoError):  # an outside service failed (the IMAP server mid-sync): said as it is
        return 1, str(exc)
    if isinstance(exc, UnicodeError):
        return 2, f"input is not valid UTF-8 ({exc})"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return 2, f"{exc.strerror or exc}{where}"
    module = type(exc).__module__
    if module.startswith(("sqlite3", "psycopg")):
        where = f" {_loaded.resolved_checkpoint_url()}" if _loaded is not None else ""
        return 2, f"database{where}: {type(exc).__name__}: {exc}"
    return 1, f"unexpected {type(exc).__name__}: {exc} (CMO_DEBUG=1 prints where)"


app = typer.Typer(
    cls=_GuardedGroup,
    name="cmo-agent",
    help="Outbound campaigns from a plain-language goal, on a resumable LangGraph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

JobArg = Annotated[str, typer.Argument(help="The job id that `run` printed.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _redacted(message: str) -> str:
    """`message` without any secret the environment or settings hold, and without credentials of a URL."""
    from cmo_agent.core.database import redact

    secrets = [os.environ.get(name) for name in _SECRET_VARIABLES]
    if _loaded is not None:
        secrets += [
            value.get_secret_value()
            for value in (
                _loaded.github_token,
                _loaded.openai_api_key,
                _loaded.smtp_password,
                _loaded.imap_password,
            )
            if value is not None
        ]
    for secret in secrets:
        if secret and len(secret) >= 4:
            message = message.replace(secret, "***")
    url = os.environ.get("CMO_CHECKPOINT_URL") or (_loaded.checkpoint_url if _loaded else None)
    return redact(message, url) if url else message


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {one_line(_redacted(message))}", err=True)
    raise typer.Exit(code)


_loaded: Settings | None = None


def _settings() -> Settings:
    """Settings from the environment and .env; one line and exit code 2 when one is invalid."""
    global _loaded
    from pydantic import ValidationError

    from cmo_agent.core.config import Settings

    try:
        _loaded = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        alias = Settings.model_fields[field].alias if field in Settings.model_fields else None
        _fail(f"configuration: {alias or field}: {first['msg'].removeprefix('Value error, ')}")
    return _loaded


def _console(stderr: bool = False) -> Console:
    """A Rich console that prints text as text: no markup, no highlighting, no emoji codes."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, highlight=False, emoji=False, soft_wrap=True)


def _text_arg(name: str, value: str) -> str:
    """A text argument, refused (exit 2) when it was not valid UTF-8."""
    if not is_valid_utf8(value):
        _fail(f"{name} is not valid UTF-8")
    return value


def _parse_sources(value: str) -> list[str]:
    from cmo_agent.stages.enrich import EMAIL_SOURCES

    sources = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in sources if s not in EMAIL_SOURCES]
    if not sources or unknown:
        _fail(f"--email-sources: expected a comma-separated subset of {','.join(EMAIL_SOURCES)}, got {value!r}")
    return sources


MaxPerOrgOpt = Annotated[
    int | None,
    typer.Option(min=1, max=1_000_000, help="At most N people per repository owner (the best by score)."),
]


@app.command()
def run(
    goal: Annotated[str, typer.Argument(help='What to find, e.g. "Find active ML engineers".')],
    job_id: Annotated[str | None, typer.Option(help="Job id (default: generated).")] = None,
    query: Annotated[str | None, typer.Option(help="GitHub search query, used as is.")] = None,
    max_repos: Annotated[int | None, typer.Option(min=1, max=1000, help="Repositories to take (default 10).")] = None,
    max_leads: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="Drafts to write at most.")] = None,
    min_score: Annotated[
        int | None, typer.Option(min=0, max=100, help="ICP threshold; 0 disables (default 30).")
    ] = None,
    email_sources: Annotated[
        str, typer.Option(help="profile, or profile,commit (commit addresses are flagged).")
    ] = "profile",
    icp: Annotated[
        Path | None, typer.Option(help="Ideal customer profile (TOML) over the one the goal implies; see README.")
    ] = None,
    deliver: Annotated[str, typer.Option(help="outbox (default) or smtp.")] = "outbox",
    yes: Annotated[bool, typer.Option("--yes", help="Skip the approval gate of --deliver smtp.")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="Offline run on the bundled GitHub snapshot.")] = False,
    follow_ups: Annotated[
        int, typer.Option(min=0, max=5, help="Follow-ups threaded under the first email, to who has not replied.")
    ] = 0,
    follow_up_after: Annotated[str, typer.Option(help="Wait between steps: 3d, 12h, 90m or 20s (default 3d).")] = "3d",
    max_per_org: MaxPerOrgOpt = None,
    recontact_days: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=36_500,
            help="Skip people another job emailed (SMTP) in N days; 0: off (default CMO_RECONTACT_DAYS).",
        ),
    ] = None,
    enqueue: Annotated[
        bool, typer.Option("--enqueue", help="Put the job on the PostgreSQL work queue for a worker, and exit.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start a campaign: prints the job id, shows progress, ends with a summary."""
    sources = _parse_sources(email_sources)
    from cmo_agent.core.params import duration_seconds

    try:
        duration_seconds(follow_up_after)
    except ValueError as exc:
        _fail(f"--follow-up-after: {exc}")
    if deliver not in ("outbox", "smtp"):
        _fail(f"--deliver: expected outbox or smtp, got {deliver!r}")
    if deliver == "smtp" and demo:
        _fail("--demo delivers to the outbox only: its people and addresses are made up")
    settings = _settings()
    if deliver == "smtp":
        from cmo_agent.preflight import check_smtp_ready

        check_smtp_ready(settings)
    from cmo_agent.runner import start_campaign
    from cmo_agent.targeting.icp import load_icp_file

    params = {
        "icp": load_icp_file(icp) if icp else None,
        "query": query,
        "max_repos": max_repos,
        "max_leads": max_leads,
        "min_score": min_score,
        "email_sources": sources,
        "deliver": deliver,
        "require_approval": deliver == "smtp" and not yes,
        "demo": demo or None,
        "follow_ups": follow_ups or None,
        "follow_up_after": follow_up_after if follow_ups else None,
        "max_per_org": max_per_org,
        "recontact_days": recontact_days,
    }

    def announce(new_job_id: str) -> None:
        if not as_json:
            typer.echo(f"job {new_job_id}")

    if enqueue:
        from cmo_agent.runner import enqueue_campaign

        _print_queued(enqueue_campaign(settings, goal, params, job_id).as_dict(), as_json, "queued")
        return
    with ProgressDisplay(enabled=not as_json) as on_progress:
        outcome = start_campaign(settings, goal, params, job_id, on_progress, announce)
    _finish(outcome, settings, as_json)


def _print_queued(job: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        typer.echo(json.dumps(job | {"queued": what == "queued"}, indent=2))
        return
    typer.echo(f"job {job['job_id']}: {what}; a `cmo-agent worker` runs it (`cmo-agent status {job['job_id']}`)")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs this worker runs at once.")] = 1,
) -> None:
    """Run queued campaigns (PostgreSQL) until SIGTERM or Ctrl-C, which drain like `pause`;
    a second signal stops at once."""
    settings = _settings()
    from cmo_agent.worker import run_worker

    def ready(name: str) -> None:
        typer.echo(f"{name} taking queued campaigns ({concurrency} at a time); Ctrl-C or SIGTERM drains it", err=True)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    raise typer.Exit(run_worker(settings, concurrency, settings.worker_heartbeat, settings.worker_stalled_after, ready))


@app.command()
def resume(
    job_id: JobArg,
    resend_unknown: Annotated[
        bool,
        typer.Option(
            "--resend-unknown",
            help="Send again the messages a crash caught mid-transaction (they may arrive twice).",
        ),
    ] = False,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors",
            help="Look up again only the repositories and people whose lookup failed, then run on (also a done job).",
        ),
    ] = False,
    enqueue: Annotated[
        bool, typer.Option("--enqueue", help="Put the job on the PostgreSQL work queue for a worker, and exit.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Continue a paused, interrupted or crashed job from its last checkpoint."""
    settings = _settings()
    from cmo_agent.runner import resume_campaign

    if enqueue:
        if resend_unknown or retry_errors:
            _fail("--enqueue: --resend-unknown and --retry-errors are run in this process, not queued")
        from cmo_agent.runner import enqueue_resume

        job, queued = enqueue_resume(settings, job_id)
        _print_queued(job.as_dict(), as_json, "queued" if queued else "already queued")
        return

    with ProgressDisplay(enabled=not as_json) as on_progress:
        outcome = resume_campaign(
            settings, job_id, on_progress, resend_unknown=resend_unknown, retry_errors=retry_errors
        )
    if outcome.retried == {}:
        typer.echo(f"note: nothing to retry: no repository or person of job {job_id} has an unresolved error", err=True)
    _finish(outcome, settings, as_json)


@app.command()
def approve(
    job_id: JobArg,
    reject: Annotated[
        list[str] | None, typer.Option("--reject", help="A lead's login whose draft must not be sent (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer the approval gate and continue: every draft but the rejected ones is delivered."""
    settings = _settings()
    from cmo_agent.runner import approve_campaign

    with ProgressDisplay(enabled=not as_json) as on_progress:
        outcome = approve_campaign(settings, job_id, list(reject or []), on_progress)
    _finish(outcome, settings, as_json)


@app.command()
def sync(
    job_id: Annotated[str | None, typer.Argument(help="A job id; all jobs if omitted.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read replies, bounces, auto-replies and unsubscribes from IMAP into the job (all jobs without an id)."""
    settings = _settings()
    from cmo_agent.preflight import validate_job_id
    from cmo_agent.sync.run import sync as run_sync

    result = run_sync(settings, None if job_id is None else validate_job_id(job_id))
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.kinds.items())) or "nothing new"
    typer.echo(f"{result.mailbox}: {result.new_messages} new messages ({kinds})")
    for line in result.unparsed:
        typer.echo(f"  unparsed {one_line(line)}")
    for job, n in result.applied.items():
        typer.echo(f"job {job}: {n} outcomes recorded")
    for job, why in result.skipped.items():
        typer.echo(f"job {job}: {why}")
    if result.suppressed:
        typer.echo(f"{result.suppressed} addresses added to the suppression list")


@app.command()
def pause(job_id: JobArg) -> None:
    """Ask a running job (in another process) to stop after the items in flight; resume continues it."""
    settings = _settings()
    from cmo_agent.runner import request_pause

    job = request_pause(settings, job_id)
    typer.echo(f"pause requested: job {job.job_id} ({job.runner}) stops after the items in flight")


@app.command()
def status(
    job_id: Annotated[str | None, typer.Argument(help="A job id; all jobs if omitted.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One job's state and counts, or a table of all jobs."""
    settings = _settings()
    from rich.table import Table

    from cmo_agent.reporting import follow_up_counts, funnel, smtp_outcomes, unresolved_errors
    from cmo_agent.runner import current_state, list_jobs

    if job_id is None:
        jobs = list_jobs(settings)
        if as_json:
            typer.echo(json.dumps([job.as_dict() for job in jobs], indent=2))
            return
        if not jobs:
            typer.echo("no jobs yet: start one with `cmo-agent run GOAL`")
            return
        table = Table()
        for column in ("job", "status", "updated"):
            table.add_column(column, no_wrap=True)
        table.add_column("goal")
        for job in jobs:
            table.add_row(job.job_id, job.shown_status, _short_time(job.updated_at), one_line(job.goal))
        _console().print(table)
        return
    job, values = current_state(settings, job_id)
    due = None
    if job.status == "waiting":
        from cmo_agent.stages.follow_up import due_at

        due = due_at(values)
    info = job.as_dict() | {
        "due_at": None if due is None else _iso(due),
        "funnel": funnel(values),
        "delivery": smtp_outcomes(values),
        "follow_ups": follow_up_counts(values),
        "counters": values.get("counters", {}),
        "errors": len(values.get("errors", [])),
        "errors_by_stage": unresolved_errors(values),
        "completed_at": values.get("completed_at"),
    }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"job {job.job_id}: {job.shown_status}   goal: {one_line(job.goal)}")
    note = f"   {'error' if job.status == 'failed' else 'reason'}: {one_line(job.error)}" if job.error else ""
    typer.echo(f"created {job.created_at}   updated {job.updated_at}{note}")
    typer.echo("funnel: " + "  ".join(f"{k} {v}" for k, v in info["funnel"].items()))
    if info["delivery"]:
        typer.echo("delivery: " + "  ".join(f"{k} {v}" for k, v in info["delivery"].items()))
    if info["follow_ups"]:
        typer.echo("follow-ups: " + "  ".join(f"{k} {v}" for k, v in sorted(info["follow_ups"].items())))
    if info["errors_by_stage"]:
        by_stage = ", ".join(f"{stage} {n}" for stage, n in info["errors_by_stage"].items())
        typer.echo(f"errors: {by_stage}   (`cmo-agent resume {job.job_id} --retry-errors` retries failed items)")
    typer.echo(f"github requests {info['counters'].get('github_api_calls', 0)}   errors {info['errors']}")


@app.command()
def report(
    job_id: JobArg,
    as_json: JsonOpt = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML page (charts, no network).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --html file if it exists.")] = False,
) -> None:
    """The campaign's outcomes: the funnel to replies, rates, usage, errors by stage, the replies."""
    settings = _settings()
    from rich.table import Table

    from cmo_agent.core.files import write_text_file
    from cmo_agent.reporting import job_report
    from cmo_agent.runner import current_state

    _, values = current_state(settings, job_id)
    data = job_report(values, settings)
    if html is not None:
        from cmo_agent.report_html import render_html

        written = write_text_file(html, render_html(data, values), overwrite=force)
        typer.echo(f"report page: {terminal_text(str(written))}", err=as_json)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    console = _console()
    console.print(f"job {job_id}: {one_line(str(data['goal']))}")
    funnel_table = Table(title="funnel", show_header=False)
    for name, value in data["funnel"].items():
        funnel_table.add_row(name, str(value))
    console.print(funnel_table)
    outcome_table = Table(title="outcomes")
    for column in ("outcome", "messages", "of sent"):
        outcome_table.add_column(column)
    for name, value in data["outcomes"].items():
        rate = data["rates"].get(name)
        outcome_table.add_row(name, str(value), "" if rate is None else f"{rate:.1%}")
    console.print(outcome_table)
    if len(data["steps"]) > 1:
        step_table = Table(title="by step")
        for column in ("step", "delivered", "replied", "reply rate", "not sent to"):
            step_table.add_column(column)
        for row in data["steps"]:
            rate = "" if row["reply_rate"] is None else f"{row['reply_rate']:.1%}"
            left_out = ", ".join(f"{n} {reason}" for reason, n in sorted(row["stopped"].items()))
            step_table.add_row(row["name"], str(row["delivered"]), str(row["replied"]), rate, left_out)
        console.print(step_table)
    github, llm = data["github"], data["llm"]
    ahead = f" ({github['fetched_ahead']} of them fetched ahead by this job)" if github["fetched_ahead"] else ""
    console.print(
        f"GitHub: {github['api_calls']} requests ({github['graphql_points']} GraphQL points),"
        f" {github['cache_hits']} answers from the cache{ahead}, {github['wait_seconds']} s waited"
    )
    if llm.get("llm_calls"):
        cost = llm.get("estimated_cost_usd")
        tokens = llm["llm_prompt_tokens"] + llm["llm_completion_tokens"]
        shown = f"${cost:.4f}" if cost is not None else "cost unknown"
        console.print(f"model: {llm['llm_calls']} requests, {tokens:,} tokens, {shown}")
    if data["stage_seconds"]:
        console.print(
            "time per stage: " + ", ".join(f"{stage} {sec} s" for stage, sec in data["stage_seconds"].items())
        )
    for stage, errors in data["errors"].items():
        commonest = "; ".join(one_line(kind) for kind in errors["commonest"])
        console.print(f"errors in {stage}: {errors['count']}, {errors['unresolved']} unresolved ({commonest})")
    if data["replies"]:
        replies_table = Table(title="replies")
        for column in ("login", "when", "first words"):
            replies_table.add_column(column)
        for item in data["replies"]:
            replies_table.add_row(item["login"], str(item["at"] or ""), one_line(item["text"])[:80])
        console.print(replies_table)
    elif not data["outcomes"]["sent"]:
        console.print("nothing sent over SMTP yet: outcomes come from `cmo-agent sync` after delivery")


@app.command()
def history(
    job_id: JobArg,
    node: Annotated[str | None, typer.Option(help="Only the checkpoints this stage wrote (e.g. deliver).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The job's checkpoints, newest first: id, step, node, time, the step's duration, counts."""
    settings = _settings()
    from rich.table import Table

    from cmo_agent.graph import STAGES
    from cmo_agent.runner import checkpoint_history

    if node is not None and node not in STAGES:
        _fail(f"--node: expected one of {', '.join(STAGES)}, got {one_line(node)!r}")
    rows = checkpoint_history(settings, job_id, node)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("checkpoint", "step", "node", "time", "took", "repos", "candidates", "leads", "to_send", "errors")
    for row in rows:
        counts = row["counts"]
        took = "" if row["duration_s"] is None else f"{row['duration_s']:.1f} s"
        table.add_row(
            row["checkpoint_id"] + (" (pruned)" if row.get("pruned") else ""),
            str(row["step"]),
            row["node"],
            _short_time(row["created_at"] or "", seconds=True),
            took,
            *(str(counts[key]) for key in ("repos", "candidates", "leads", "to_send", "errors")),
        )
    console = _console()
    console.width = 200
    console.print(table)
    if pruned := sum(1 for row in rows if row.get("pruned")):
        typer.echo(f"{pruned} checkpoints were pruned (`cmo-agent prune`): listed, their states are gone")


@app.command()
def prune(job_id: JobArg, as_json: JsonOpt = False) -> None:
    """Shrink a done job's checkpoints to the last one and say what that freed; report, export,
    status and history keep working (history marks the pruned steps)."""
    settings = _settings()
    from cmo_agent.runner import prune_job

    outcome = prune_job(settings, job_id)
    if as_json:
        typer.echo(json.dumps(outcome.as_dict(), indent=2))
        return
    before, after = outcome.before, outcome.after
    if after.rows == before.rows:
        typer.echo(f"job {job_id}: nothing to prune ({before.checkpoints} checkpoint, {_mb(before.bytes)})")
        return
    typer.echo(
        f"job {job_id} pruned: checkpoints {before.checkpoints:,} -> {after.checkpoints:,}, rows {before.rows:,}"
        f" -> {after.rows:,}, checkpoint data {_mb(before.bytes)} -> {_mb(after.bytes)}"
        f" ({_mb(outcome.freed_bytes)} freed)"
    )
    if outcome.database == "sqlite":
        typer.echo(f"database file {_mb(before.database_bytes)} -> {_mb(after.database_bytes)} (VACUUM ran)")
    else:
        typer.echo("PostgreSQL: VACUUM made the freed space reusable; the tables keep their size on disk")


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


@app.command()
def export(
    job_id: JobArg,
    out: Annotated[
        Path | None,
        typer.Option(help="Output file, or - for stdout (default $CMO_DATA_DIR/runstate_{job_id}.json)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --out file if it exists.")] = False,
    checkpoint: Annotated[
        str | None,
        typer.Option(help="The state at this checkpoint (an id from `history`) instead of the latest."),
    ] = None,
) -> None:
    """Write the job's RunState as JSON (to a regular file only; an existing --out file needs --force)."""
    settings = _settings()
    from cmo_agent.runner import export_json, export_state

    if checkpoint is not None:
        checkpoint = _text_arg("--checkpoint", checkpoint)
    if out is not None and str(out) == "-":
        sys.stdout.write(export_json(settings, job_id, checkpoint))
        return
    path = export_state(settings, job_id, out, force=force, checkpoint_id=checkpoint)
    typer.echo(str(path))


@app.command()
def replay(
    job_id: JobArg,
    checkpoint: Annotated[str, typer.Argument(help="The checkpoint to fork from (an id from `history`).")],
    new_job_id: Annotated[str | None, typer.Option("--job-id", help="The new job's id (default: generated).")] = None,
    min_score: Annotated[int | None, typer.Option(min=0, max=100, help="ICP threshold for the fork.")] = None,
    max_leads: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="Drafts to write at most.")] = None,
    deliver: Annotated[str | None, typer.Option(help="outbox or smtp (default: the job's).")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Skip the approval gate of --deliver smtp.")] = False,
    follow_ups: Annotated[int | None, typer.Option(min=0, max=5, help="Follow-ups after the first email.")] = None,
    template: Annotated[str | None, typer.Option(help="Email template version (e.g. intro_v2).")] = None,
    prompt: Annotated[str | None, typer.Option(help="Model prompt version (e.g. personalize_v1).")] = None,
    max_per_org: MaxPerOrgOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fork the job at a checkpoint into a new job and run it on (the original stays as it was).

    Stages done before the checkpoint make no request again; a fork never mails anyone another job mailed."""
    settings = _settings()
    from cmo_agent.runner import current_state, replay_campaign

    checkpoint = _text_arg("CHECKPOINT", checkpoint)
    if deliver is not None and deliver not in ("outbox", "smtp"):
        _fail(f"--deliver: expected outbox or smtp, got {one_line(deliver)!r}")
    job, _ = current_state(settings, job_id)
    if deliver == "smtp" and job.params.get("demo"):
        _fail("--demo delivers to the outbox only: its people and addresses are made up")
    params: dict[str, Any] = {
        "min_score": min_score,
        "max_leads": max_leads,
        "deliver": deliver,
        "require_approval": (not yes) if deliver == "smtp" else None,
        "follow_ups": follow_ups,
        "template": template,
        "prompt": prompt,
        "max_per_org": max_per_org,
    }

    def announce(fork_id: str) -> None:
        if not as_json:
            typer.echo(f"job {fork_id} (forked from {job_id} at {checkpoint})")

    with ProgressDisplay(enabled=not as_json) as on_progress:
        outcome = replay_campaign(settings, job_id, checkpoint, new_job_id, params, on_progress, announce)
    _finish(outcome, settings, as_json)


@app.command()
def studio(
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to serve on (127.0.0.1).")] = 2024,
) -> None:
    """Serve the campaign graph to LangGraph Studio on this project's checkpoint database: every job
    is a thread (metadata job_id), runs started there are jobs like any other. Ctrl-C stops it."""
    settings = _settings()
    from cmo_agent.studio.server import serve

    def ready(info: dict[str, Any]) -> None:
        typer.echo(f"LangGraph server ready in {info['ready_s']:.1f} s at {info['api']} (API docs: {info['api']}/docs)")
        typer.echo(f"open LangGraph Studio: {info['studio']}")
        typer.echo(f"{info['jobs']} jobs are threads (metadata job_id); server log {info['log']}; Ctrl-C stops")

    raise typer.Exit(serve(settings, port, on_ready=ready))


suppress_app = typer.Typer(
    help="The global do-not-contact list (addresses, @domain, or github:LOGIN accounts).", no_args_is_help=True
)
app.add_typer(suppress_app, name="suppress")
EntriesArg = Annotated[
    list[str],
    typer.Argument(help="Addresses, @domain for everyone at a domain, github:LOGIN or github-id:N for an account."),
]


def _entries(values: list[str]) -> list[str]:
    from cmo_agent.core.suppression import normalize_entry

    try:
        return [normalize_entry(_text_arg("an entry", value)) for value in values]
    except ValueError as exc:
        _fail(str(exc))


@suppress_app.command("add")
def suppress_add(
    entries: EntriesArg,
    reason: Annotated[str, typer.Option(help="Why (kept with the entry).")] = "manual",
) -> None:
    """Never write to these addresses again, in any job (running jobs check before each send)."""
    reason = _text_arg("--reason", reason)
    normalized = _entries(entries)
    from cmo_agent.core.suppression import open_suppressions

    with open_suppressions(_settings()) as suppressions:
        added = suppressions.add(normalized, reason=reason, source="cli")
    typer.echo(f"suppressed {added} new, {len(set(normalized)) - added} already listed")


@suppress_app.command("remove")
def suppress_remove(entries: EntriesArg) -> None:
    """Take entries off the list."""
    normalized = _entries(entries)
    from cmo_agent.core.suppression import open_suppressions

    with open_suppressions(_settings()) as suppressions:
        removed = suppressions.remove(normalized)
    typer.echo(f"removed {removed}, {len(set(normalized)) - removed} were not listed")


@suppress_app.command("list")
def suppress_list(as_json: JsonOpt = False) -> None:
    """Every entry, with why and when it was added."""
    from dataclasses import asdict

    from cmo_agent.core.errors import DatabaseMissing
    from cmo_agent.core.suppression import open_suppressions

    try:
        with open_suppressions(_settings(), create=False) as suppressions:
            entries = suppressions.entries()
    except DatabaseMissing:
        entries = []
    if as_json:
        typer.echo(json.dumps([asdict(entry) for entry in entries], indent=2))
        return
    for entry in entries:
        typer.echo(f"{entry.entry}\t{one_line(entry.reason)}\t{one_line(entry.source)}\t{entry.added_at}")


@suppress_app.command("import")
def suppress_import(
    file: Annotated[Path, typer.Argument(help="One address per line, or a CSV with an address column.")],
    reason: Annotated[str, typer.Option(help="Why (kept with each entry).")] = "import",
) -> None:
    """Add every address of a file (a row without an address, or a malformed one, stops the import
    before anything is added; blank lines, # comments and a header row are skipped)."""
    from cmo_agent.core.suppression import entries_from_file, open_suppressions

    reason = _text_arg("--reason", reason)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        _fail(f"cannot read {file}: not UTF-8 text")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    entries = entries_from_file(text)
    with open_suppressions(_settings()) as suppressions:
        added = suppressions.add(entries, reason=reason, source=f"import:{file.name}")
    typer.echo(f"suppressed {added} new, {len(set(entries)) - added} already listed")


class ProgressDisplay:
    """Rich progress bars fed by the graph's progress events (on stderr, so stdout stays parseable)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        return self._update if self.enabled else None

    def _start(self) -> Any:
        """The bars, drawn from the first event on (an error before any progress prints only itself)."""
        if self._bars is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bars = Progress(
                TextColumn("{task.description:<20}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True, markup=False, highlight=False, emoji=False),
                transient=False,
            )
            self._bars.start()
        return self._bars

    def _update(self, event: dict[str, Any]) -> None:
        bars = self._start()
        if "waiting" in event:
            reason = str(event.get("reason", "")).replace("_", " ")
            bars.console.print(terminal_text(f"GitHub: waiting {event['waiting']} s ({reason})"))
            return
        stage = terminal_text(str(event.get("stage")))
        if stage not in self._tasks:
            self._tasks[stage] = bars.add_task(stage, total=None)
        bars.update(self._tasks[stage], completed=event.get("done", 0), total=event.get("total") or None)

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()


def _finish(outcome: RunOutcome, settings: Settings, as_json: bool) -> NoReturn:
    from cmo_agent.reporting import follow_up_counts, funnel, smtp_outcomes

    values = outcome.state
    summary = {
        "job_id": outcome.job_id,
        "status": outcome.status,
        "error": outcome.error,
        "query": values.get("query"),
        "funnel": funnel(values),
        "counters": values.get("counters", {}),
        "errors": len(values.get("errors", [])),
        "outbox": values.get("reports", {}).get("summary", {}).get("outbox"),
        "llm": values.get("reports", {}).get("summary", {}).get("llm"),
        "reason": outcome.reason,
        "approval": outcome.interrupt,
        "delivery": smtp_outcomes(values),
        "follow_ups": follow_up_counts(values),
    }
    if outcome.retried is not None:
        summary["retried"] = outcome.retried
    if forked := values.get("forked_from"):
        summary["forked_from"] = forked
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    raise typer.Exit(EXIT_CODES[outcome.status])


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    console = _console()
    job_id = summary["job_id"]
    console.print(f"campaign {job_id}: {summary['status']}")
    if forked := summary.get("forked_from"):
        console.print(
            f"forked from {forked['job_id']} at checkpoint {forked['checkpoint_id']} (after {forked['node']}):"
            " the records before it are the original's; requests and tokens below are the fork's own"
        )
    table = Table(show_header=False)
    names = {
        "repos": "repositories",
        "candidates": "people found",
        "enriched": "profiles read",
        "with_address": "with an address",
        "valid_address": "address passed hygiene",
        "qualified": "matched the profile",
        "drafted": "emails drafted",
        "delivered": "delivered (outbox or SMTP)",
    }
    for key, value in summary["funnel"].items():
        table.add_row(names.get(key, key), str(value))
    table.add_row("GitHub requests", str(summary["counters"].get("github_api_calls", 0)))
    llm = summary.get("llm") or {}
    if llm.get("llm_calls"):
        counters = summary["counters"]
        table.add_row("drafted by the model", str(counters.get("drafted_by_model", 0)))
        fallbacks = ", ".join(f"{n} {one_line(reason)}" for reason, n in llm.get("fallbacks", {}).items())
        shown = str(counters.get("model_fallbacks", 0)) + (f" ({fallbacks})" if fallbacks else "")
        table.add_row("template fallbacks", shown)
        tokens = llm["llm_prompt_tokens"] + llm["llm_completion_tokens"]
        table.add_row("LLM requests / tokens", f"{llm['llm_calls']} / {tokens:,}")
        cost = llm.get("estimated_cost_usd")
        table.add_row("estimated LLM cost", f"${cost:.4f}" if cost is not None else "unknown (set CMO_LLM_PRICES)")
    table.add_row("errors recorded", str(summary["errors"]))
    console.print(table)
    if summary["query"]:
        console.print(f"search query: {one_line(summary['query'])}")
    if summary["delivery"]:
        console.print("delivery: " + ", ".join(f"{n} {state}" for state, n in summary["delivery"].items()))
    if summary.get("follow_ups"):
        console.print("follow-ups: " + ", ".join(f"{n} {state}" for state, n in sorted(summary["follow_ups"].items())))
    if retried := summary.get("retried"):
        put_back = [f"{stage} {len(items)} ({one_line(', '.join(items[:5]))})" for stage, items in retried.items()]
        console.print(f"retried: {', '.join(put_back)}")
    if summary["error"]:
        failed = Text("failed: ", style="red") + Text(one_line(_redacted(summary["error"])))
        console.print(failed)
        console.print(f"fix the cause, then: cmo-agent resume {job_id}")
    elif summary["status"] == "awaiting_approval":
        _print_approval(console, job_id, summary["approval"] or {})
    elif summary["status"] == "waiting":
        console.print(f"waiting: {one_line(summary['reason'] or '')}; then `cmo-agent resume {job_id}` sends it")
    elif summary["status"] != "done":
        reason = f" ({one_line(summary['reason'])})" if summary["reason"] else ""
        console.print(f"paused{reason}: continue with `cmo-agent resume {job_id}`")
    if summary["outbox"]:
        console.print(f"outbox: {terminal_text(summary['outbox'])}")
    console.print(f"inspect: cmo-agent history {job_id}\n         cmo-agent export {job_id}")


def _print_approval(console: Console, job_id: str, gate: dict[str, Any]) -> None:
    """The approval gate: how many drafts, and samples of them (untrusted text, printed as text)."""
    drafted = gate.get("drafts", 0)
    console.print(f"waiting for approval: {drafted} emails drafted, nothing sent yet", soft_wrap=True)
    for sample in gate.get("samples", []):
        first_lines = " / ".join(line for line in str(sample.get("body", "")).splitlines() if line.strip())[:160]
        who = f"{one_line(str(sample.get('login')))} <{one_line(str(sample.get('to')))}>"
        line = f"  {who}: {one_line(str(sample.get('subject', '')))}\n    {one_line(first_lines)}"
        console.print(line, soft_wrap=True)
    for preview in gate.get("follow_ups", []):
        first_lines = " / ".join(line for line in str(preview.get("body", "")).splitlines() if line.strip())[:240]
        when = one_line(str(preview.get("after", "")))
        line = f"  follow-up {preview.get('step')} ({when} after the previous step, to those who have not replied):"
        subject = one_line(str(preview.get("subject", "")))
        console.print(f"{line}\n    {subject}\n    {one_line(first_lines)}", soft_wrap=True)
    console.print(
        f"send them: cmo-agent approve {job_id} [--reject LOGIN ...]   (drafts: cmo-agent export {job_id})",
        soft_wrap=True,
    )


def _iso(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _short_time(iso: str, seconds: bool = False) -> str:
    """An ISO timestamp as `YYYY-MM-DD HH:MM[:SS]` for tables."""
    return iso[: 19 if seconds else 16].replace("T", " ")


def main() -> None:
    """Console-script entry point."""
    from cmo_agent.stop_signals import shield_signals_after_runs

    shield_signals_after_runs()
    # psycopg logs what it ignores while closing a connection the server dropped; the command
    # reports that failure itself, in one line.
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    try:
        app(prog_name="cmo-agent")
    finally:
        # The stages' worker threads end with the command, not at interpreter exit. (A command that
        # ran no stage never imported them, and --help stays free of LangGraph's import time.)
        if (stages := sys.modules.get("cmo_agent.stages.common")) is not None:
            stages.shutdown_pools()


if __name__ == "__main__":
    main()
