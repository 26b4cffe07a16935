"""Starting, resuming and inspecting campaigns: what the CLI and scripts call.

A campaign is a LangGraph thread in the checkpoint database plus a job record beside it.
"""

from __future__ import annotations

import json
import re
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from langgraph.errors import GraphDrained
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import RunControl
from langgraph.types import Command

from cmo_agent.context import CampaignContext
from cmo_agent.core.checkpointer import open_checkpointer, thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import ConfigError
from cmo_agent.core.jobs import Job, JobStatus, JobStore, open_job_store
from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.graph import build_graph

ProgressHandler = Callable[[dict[str, Any]], None]
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class RunOutcome:
    """How a run or resume ended."""

    job_id: str
    status: JobStatus
    state: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    interrupt: Any = None
    reason: str | None = None
    """Why a paused run stopped (a signal, `pause`, or what the run itself met: SMTP down, the daily cap)."""


def new_job_id(goal: str) -> str:
    """A readable unique job id: date, a slug of the goal, and random hex."""
    slug = "-".join(re.findall(r"[a-z0-9]+", goal.lower())[:4])[:24] or "campaign"
    return f"{datetime.now(UTC):%Y%m%d}-{slug}-{secrets.token_hex(3)}"


def validate_job_id(job_id: str) -> str:
    if not _JOB_ID.match(job_id):
        raise ConfigError(f"invalid job id {job_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return job_id


@contextmanager
def open_campaigns(settings: Settings) -> Iterator[tuple[CompiledStateGraph[Any, Any, Any, Any], JobStore]]:
    """The graph compiled with the configured checkpointer, and the job store of the same database."""
    url = settings.resolved_checkpoint_url()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open_checkpointer(url) as saver, open_job_store(url) as jobs:
        yield build_graph().compile(checkpointer=saver), jobs


@contextmanager
def _drain_on_signals(control: RunControl) -> Iterator[None]:
    """SIGINT and SIGTERM finish the current step, checkpoint it and stop (a second Ctrl-C aborts)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if control.drain_requested:
            raise KeyboardInterrupt
        control.request_drain(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _watch_pause_requests(url: str, job_id: str, control: RunControl, every: float = 0.5) -> Iterator[None]:
    """Drain the run when another process asks (`cmo-agent pause`), checking every `every` seconds."""
    stop = threading.Event()

    def watch() -> None:
        with open_job_store(url) as jobs:
            while not stop.wait(every):
                if jobs.pause_requested(job_id):
                    jobs.clear_pause(job_id)
                    control.request_drain("pause requested")
                    return

    watcher = threading.Thread(target=watch, name=f"pause-watch-{job_id}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=5)


def _execute(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    jobs: JobStore,
    job: Job,
    graph_input: Any,
    settings: Settings,
    on_progress: ProgressHandler | None,
) -> RunOutcome:
    config = thread_config(job.job_id)
    control = RunControl()
    with ExitStack() as stack:
        if job.params.get("demo"):
            from cmo_agent.demo.snapshot import demo_settings

            settings = stack.enter_context(demo_settings(settings))
        stack.enter_context(_drain_on_signals(control))
        jobs.clear_pause(job.job_id)
        stack.enter_context(_watch_pause_requests(settings.resolved_checkpoint_url(), job.job_id, control))
        jobs.set_status(job.job_id, "running")
        try:
            for mode, event in graph.stream(
                graph_input,
                config,
                context=CampaignContext(settings=settings, control=control),
                stream_mode=["custom", "updates"],
                durability="sync",
                control=control,
            ):
                if mode == "custom" and on_progress is not None and isinstance(event, dict):
                    on_progress(event)
        except GraphDrained:
            reason = control.drain_reason
            jobs.set_status(job.job_id, "paused", error=reason)
            values = dict(graph.get_state(thread_config(job.job_id)).values)
            return RunOutcome(job.job_id, "paused", values, reason=reason)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            jobs.set_status(job.job_id, "failed", error=message)
            return RunOutcome(job.job_id, "failed", dict(graph.get_state(thread_config(job.job_id)).values), message)
    snapshot = graph.get_state(thread_config(job.job_id))
    if snapshot.next:
        interrupts = [i.value for task in snapshot.tasks for i in task.interrupts]
        status: JobStatus = "awaiting_approval" if interrupts else "paused"
        jobs.set_status(job.job_id, status)
        return RunOutcome(job.job_id, status, dict(snapshot.values), interrupt=interrupts[0] if interrupts else None)
    jobs.set_status(job.job_id, "done")
    return RunOutcome(job.job_id, "done", dict(snapshot.values))


def check_smtp_ready(settings: Settings) -> None:
    """Raise ConfigError unless SMTP delivery has a sender identity, a postal address and a relay."""
    required = {
        "CMO_SENDER_EMAIL": settings.sender_email,
        "CMO_SENDER_NAME": settings.sender_name,
        "CMO_POSTAL_ADDRESS": settings.postal_address,
        "SMTP_HOST": settings.smtp_host,
    }
    missing = [name for name, value in required.items() if not (value or "").strip()]
    if missing:
        raise ConfigError(f"--deliver smtp needs {', '.join(missing)} (set in the environment or .env)")
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(settings.sender_email or "", check_deliverability=False)
    except EmailNotValidError as exc:
        raise ConfigError(f"CMO_SENDER_EMAIL is not a valid address: {exc}") from None
    if settings.unsubscribe_url and not settings.unsubscribe_url.startswith("https://"):
        raise ConfigError("CMO_UNSUBSCRIBE_URL must be an https:// URL (one-click unsubscribe, RFC 8058)")
    if settings.smtp_ca_file and not Path(settings.smtp_ca_file).is_file():
        raise ConfigError(f"SMTP_CA_FILE: no such file {settings.smtp_ca_file}")


def start_campaign(
    settings: Settings,
    goal: str,
    params: dict[str, Any] | None = None,
    job_id: str | None = None,
    on_progress: ProgressHandler | None = None,
    on_start: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Create a job and run its graph until it ends, pauses or waits for approval."""
    if not goal.strip():
        raise ConfigError("the goal is empty")
    job_id = validate_job_id(job_id or new_job_id(goal))
    params = {key: value for key, value in (params or {}).items() if value is not None}
    if params.get("deliver") == "smtp":
        check_smtp_ready(settings)
    with open_campaigns(settings) as (graph, jobs):
        if jobs.exists(job_id):
            raise ConfigError(f"job {job_id!r} already exists; use `cmo-agent resume {job_id}`")
        job = jobs.create(job_id, goal, params)
        if on_start is not None:
            on_start(job_id)
        state: RunState = new_run_state(job_id, goal, params)
        return _execute(graph, jobs, job, state, settings, on_progress)


def resume_campaign(
    settings: Settings,
    job_id: str,
    on_progress: ProgressHandler | None = None,
    answer: Any = None,
    resend_unknown: bool = False,
) -> RunOutcome:
    """Continue a job from its last checkpoint; `answer` resumes an approval interrupt.

    Messages a crash caught mid-transaction become `unknown` and are not sent again, unless
    `resend_unknown` (then they, and earlier unknowns, are planned again).
    """
    with open_campaigns(settings) as (graph, jobs):
        job = jobs.get(job_id)
        if job.status == "running" and job.process_alive:
            # A checkpointer is not a lock: two processes on one thread would race.
            raise ConfigError(f"job {job_id!r} is running in process {job.pid}; stop it first")
        if job.params.get("deliver") == "smtp":
            with open_ledger(settings) as ledger:
                ledger.settle_interrupted(job_id, resend_unknown=resend_unknown)
        snapshot = graph.get_state(thread_config(job_id))
        drafts = snapshot.values.get("to_send", {}) if snapshot.values else {}
        unknown = sorted(login for login, draft in drafts.items() if draft.get("status") == "unknown")
        if resend_unknown and unknown:
            # Back to the delivery step, also for a finished job: the ledger has planned them again.
            update = {"to_send": {login: {"status": "drafted", "resend_after_unknown": True} for login in unknown}}
            graph.update_state(thread_config(job_id), update, as_node="approve")
            snapshot = graph.get_state(thread_config(job_id))
        if not snapshot.next:
            jobs.set_status(job_id, "done")
            return RunOutcome(job_id, "done", dict(snapshot.values))
        graph_input: Command[Any] | None = Command(resume=answer) if answer is not None else None
        return _execute(graph, jobs, job, graph_input, settings, on_progress)


def approve_campaign(
    settings: Settings, job_id: str, reject: list[str], on_progress: ProgressHandler | None = None
) -> RunOutcome:
    """Answer the job's approval gate (`reject` drafts by login) and run on."""
    with open_campaigns(settings) as (graph, jobs):
        job = jobs.get(job_id)
        snapshot = graph.get_state(thread_config(job_id))
        if not any(task.interrupts for task in snapshot.tasks):
            raise ConfigError(f"job {job_id!r} is not waiting for approval (status {job.shown_status})")
        unknown = sorted(set(reject) - set(snapshot.values.get("to_send", {})))
        if unknown:
            raise ConfigError(f"--reject: no draft for {', '.join(unknown)} in job {job_id!r}")
    return resume_campaign(settings, job_id, on_progress, answer={"reject": list(reject)})


def request_pause(settings: Settings, job_id: str) -> Job:
    """Ask the process running `job_id` to stop after the items in flight."""
    with open_campaigns(settings) as (_, jobs):
        job = jobs.get(job_id)
        if job.status != "running" or not job.process_alive:
            raise ConfigError(f"job {job_id!r} is not running (status {job.shown_status})")
        jobs.request_pause(job_id)
        return job


def checkpoint_history(settings: Settings, job_id: str) -> list[dict[str, Any]]:
    """The job's checkpoints, newest first: id, step, the node that wrote it, time and counts."""
    with open_campaigns(settings) as (graph, jobs):
        jobs.get(job_id)
        snapshots = list(graph.get_state_history(thread_config(job_id)))
    rows = []
    for index, snap in enumerate(snapshots):
        older = snapshots[index + 1] if index + 1 < len(snapshots) else None
        values = snap.values or {}
        rows.append(
            {
                "checkpoint_id": snap.config["configurable"]["checkpoint_id"],
                "step": (snap.metadata or {}).get("step"),
                "node": ",".join(older.next) if older is not None else "(input)",
                "next": list(snap.next),
                "created_at": snap.created_at,
                "counts": {
                    key: len(values.get(key) or {}) for key in ("repos", "candidates", "leads", "to_send", "errors")
                },
            }
        )
    return rows


def current_state(settings: Settings, job_id: str) -> tuple[Job, dict[str, Any]]:
    """The job record and the latest RunState values."""
    with open_campaigns(settings) as (graph, jobs):
        job = jobs.get(job_id)
        return job, dict(graph.get_state(thread_config(job_id)).values)


def list_jobs(settings: Settings) -> list[Job]:
    with open_campaigns(settings) as (_, jobs):
        return jobs.list()


def export_state(settings: Settings, job_id: str, out: Path | None = None) -> Path:
    """Write the job's RunState as JSON (default `$CMO_DATA_DIR/runstate_{job_id}.json`)."""
    _, values = current_state(settings, job_id)
    path = out or settings.data_dir / f"runstate_{job_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(values, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
