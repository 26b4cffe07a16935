"""Starting, resuming and inspecting campaigns: what the CLI and scripts call.

A campaign is a LangGraph thread in the checkpoint database plus a job record beside it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphDrained
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import RunControl
from langgraph.types import Command, StateSnapshot

from cmo_agent.context import CampaignContext
from cmo_agent.core import checkpoint_prune, clock
from cmo_agent.core.checkpoint_index import Listed, list_checkpoints
from cmo_agent.core.checkpoint_prune import PRUNED_KEY, Footprint
from cmo_agent.core.checkpointer import open_checkpointer, thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.database import is_postgres
from cmo_agent.core.errors import ConfigError, DatabaseMissing, JobNotFound, marked_for_retry, unresolved
from cmo_agent.core.files import write_text_file
from cmo_agent.core.job_lock import JobBusy, hold_job_lock
from cmo_agent.core.jobs import Job, JobStatus, JobStore, open_job_store
from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.params import validate_params
from cmo_agent.core.records import Draft, ErrorRecord, RunParams
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.core.state_migrations import check_known as check_state_version
from cmo_agent.core.state_migrations import completion, lacks_completion
from cmo_agent.graph import STAGES, build_graph
from cmo_agent.preflight import check_goal, check_pitch, check_smtp_ready, validate_job_id
from cmo_agent.stop_signals import drain_on_signals

ProgressHandler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Host:
    """Who runs a job in this thread: the CLI (signals drain the run) or a queue worker (its own
    signal handling; `stop` set when the worker drains, and every run it hosts drains with it)."""

    signals: bool = True
    stop: threading.Event | None = None


_host: contextvars.ContextVar[Host | None] = contextvars.ContextVar("cmo_host", default=None)


def _current_host() -> Host:
    return _host.get() or Host()


@contextmanager
def hosted_by(host: Host) -> Iterator[None]:
    """Run jobs in this block as `host` says (a queue worker's thread)."""
    token = _host.set(host)
    try:
        yield
    finally:
        _host.reset(token)


@contextmanager
def _settling_only() -> Iterator[threading.Event]:
    yield threading.Event()


@dataclass
class RunOutcome:
    """How a run or resume ended."""

    job_id: str
    status: JobStatus
    state: RunState = field(default_factory=lambda: RunState())
    error: str | None = None
    interrupt: Any = None
    reason: str | None = None
    """Why a paused run stopped (a signal, `pause`, or what the run itself met: SMTP down, the daily cap)."""
    retried: dict[str, list[str]] | None = None
    """With `retry_errors`: the failed items put back, by stage (empty: there was nothing to retry)."""


def new_job_id(goal: str) -> str:
    """A readable unique job id: date, a slug of the goal, and random hex."""
    slug = "-".join(re.findall(r"[a-z0-9]+", goal.lower())[:4])[:24] or "campaign"
    return f"{datetime.now(UTC):%Y%m%d}-{slug}-{secrets.token_hex(3)}"


def ensure_data_dir(settings: Settings) -> None:
    """Create CMO_DATA_DIR if needed; ConfigError when it cannot be a directory."""
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"CMO_DATA_DIR {path}: exists and is not a directory") from None
    except OSError as exc:
        raise ConfigError(f"CMO_DATA_DIR {path}: {exc.strerror or exc}") from None


@contextmanager
def open_campaigns(
    settings: Settings, create: bool = True
) -> Iterator[tuple[CompiledStateGraph[Any, Any, Any, Any], JobStore]]:
    """The graph compiled with the configured checkpointer, and the job store of the same database.

    `create=False` (read-only commands) never creates the data directory or the database.
    """
    url = settings.resolved_checkpoint_url()
    if create and not settings.data_dir.is_dir() and settings.data_dir.exists():
        ensure_data_dir(settings)  # says what is wrong with it before the database is looked for there
    with open_checkpointer(url, create) as saver, open_job_store(url, create) as jobs:
        if create:
            ensure_data_dir(settings)
        yield build_graph().compile(checkpointer=saver), jobs


@contextmanager
def _open_job(settings: Settings, job_id: str) -> Iterator[tuple[CompiledStateGraph[Any, Any, Any, Any], JobStore]]:
    """`open_campaigns` for a command on an existing job: a missing database means no such job."""
    try:
        with open_campaigns(settings, create=False) as opened:
            yield opened
    except DatabaseMissing as exc:
        raise JobNotFound(f"no job {job_id!r}: {exc}") from None


@contextmanager
def _job_lock(settings: Settings, jobs: JobStore, job_id: str) -> Iterator[None]:
    """Hold the job's lock (one runner per job); a clear JobBusy naming who runs it otherwise."""
    try:
        with hold_job_lock(settings.resolved_checkpoint_url(), job_id):
            yield
    except JobBusy:
        runner = jobs.get(job_id).runner if jobs.exists(job_id) else "another process"
        raise JobBusy(
            f"job {job_id!r} is running ({runner}); `cmo-agent pause {job_id}` stops it, or wait for it to end"
        ) from None


@contextmanager
def _watch_pause_requests(url: str, job_id: str, control: RunControl, every: float = 0.5) -> Iterator[None]:
    """Drain the run when another process asks (`cmo-agent pause`) or the worker hosting it stops,
    checking every `every` seconds."""
    stop = threading.Event()
    host_stop = _current_host().stop

    def stopping() -> bool:
        if host_stop is not None and host_stop.is_set():
            control.request_drain("the worker is stopping")
            return True
        return False

    def watch() -> None:
        while not stop.wait(every):
            if stopping():
                return
            # A database that went away is the run's own failure to report; the watcher asks
            # again on its next tick, on a new connection.
            with contextlib.suppress(Exception), open_job_store(url) as jobs:
                while not stop.wait(every):
                    if stopping():
                        return
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
    """Run the job's graph (the caller holds its lock) and record how it ended."""
    config = thread_config(job.job_id)
    control = RunControl()
    with ExitStack() as stack:
        if job.params.get("demo"):
            from cmo_agent.demo.snapshot import demo_settings

            settings = stack.enter_context(demo_settings(settings))
        jobs.clear_pause(job.job_id)
        jobs.set_status(job.job_id, "running")
        settling = stack.enter_context(drain_on_signals(control) if _current_host().signals else _settling_only())
        context = CampaignContext(settings=settings, control=control)
        try:
            try:
                with _watch_pause_requests(settings.resolved_checkpoint_url(), job.job_id, control):
                    for mode, event in graph.stream(
                        graph_input,
                        config,
                        context=context,
                        stream_mode=["custom", "updates"],
                        durability="sync",
                        control=control,
                    ):
                        if mode == "custom" and on_progress is not None and isinstance(event, dict):
                            on_progress(event)
            finally:
                settling.set()
        except GraphDrained:
            if context.failure is not None:  # a stage failed: recorded in the state, the run stopped there
                return _ended(graph, jobs, settings, job.job_id, "failed", error=context.failure)
            if context.waiting_until is not None:  # a send window or the next follow-up: the job waits
                return _waiting(graph, jobs, settings, job.job_id)
            reason = control.drain_reason
            return _ended(graph, jobs, settings, job.job_id, "paused", reason=reason)
        except KeyboardInterrupt:
            # A second Ctrl-C: stop now. What the last checkpoint holds is kept; the batch in flight is redone.
            reason = "stopped at once by a second Ctrl-C; the batch in flight is redone on resume"
            return _ended(graph, jobs, settings, job.job_id, "paused", reason=reason)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            return _ended(graph, jobs, settings, job.job_id, "failed", error=message)
        return _settle(graph, jobs, settings, job.job_id)


def _waiting(
    graph: CompiledStateGraph[Any, Any, Any, Any], jobs: JobStore, settings: Settings, job_id: str
) -> RunOutcome:
    """Record that the job waits for a send window or its next follow-up step, and until when."""
    from cmo_agent.stages.follow_up import waiting_note

    snapshot = graph.get_state(thread_config(job_id))
    note = waiting_note(values_of(snapshot)) or "waiting"
    return _ended(graph, jobs, settings, job_id, "waiting", snapshot=snapshot, reason=note)


def values_of(snapshot: StateSnapshot) -> RunState:
    """A snapshot's values as the RunState they are (LangGraph types them as a plain dict)."""
    return cast(RunState, dict(snapshot.values or {}))


def is_completed(snapshot: StateSnapshot) -> bool:
    """Whether the job's final stage ran: a fact the report stage records, never inferred from an empty `next`.

    (A checkpoint with nothing next may still hold the saved writes of a step that was never
    checkpointed, after a hard stop; LangGraph applies them when the thread is invoked again.)
    """
    return not snapshot.next and bool((snapshot.values or {}).get("completed_at"))


def _settle(
    graph: CompiledStateGraph[Any, Any, Any, Any], jobs: JobStore, settings: Settings, job_id: str
) -> RunOutcome:
    """Record where a graph that stopped on its own stands: done, waiting for approval, or paused."""
    snapshot = graph.get_state(thread_config(job_id))
    if is_completed(snapshot):
        return _ended(graph, jobs, settings, job_id, "done", snapshot=snapshot)
    interrupts = [i.value for task in snapshot.tasks for i in task.interrupts]
    if interrupts:
        return _ended(graph, jobs, settings, job_id, "awaiting_approval", snapshot=snapshot, interrupt=interrupts[0])
    return _ended(graph, jobs, settings, job_id, "paused", snapshot=snapshot, reason="stopped before the final stage")


def _ended(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    jobs: JobStore,
    settings: Settings,
    job_id: str,
    status: JobStatus,
    *,
    snapshot: StateSnapshot | None = None,
    reason: str | None = None,
    error: str | None = None,
    interrupt: Any = None,
) -> RunOutcome:
    """Record the job's status and return the outcome, even when the database has just gone away
    (then the record says `running` with nobody holding the lock: `interrupted`, and resumable)."""
    note = error if status == "failed" else reason
    try:
        jobs.set_status(job_id, status, error=note)
    except Exception:
        try:
            with open_job_store(settings.resolved_checkpoint_url()) as fresh:
                fresh.set_status(job_id, status, error=note)
        except Exception as exc:
            error = f"{error or reason or status} (not recorded: {type(exc).__name__}: {exc})"
            status = "failed"
    try:
        values = values_of(snapshot or graph.get_state(thread_config(job_id)))
    except Exception:
        values = RunState()
    return RunOutcome(job_id, status, values, error=error, interrupt=interrupt, reason=reason)


def _new_job(settings: Settings, goal: str, params: dict[str, Any] | None, job_id: str | None) -> tuple[str, RunParams]:
    """A new job's id and checked options; ConfigError for a bad goal, id, option, pitch or SMTP setup."""
    check_goal(goal)
    job_id = validate_job_id(new_job_id(goal) if job_id is None else job_id)
    options = validate_params({key: value for key, value in (params or {}).items() if value is not None})
    check_pitch(settings)
    if options.get("deliver") == "smtp":
        check_smtp_ready(settings)
    return job_id, options


def start_campaign(
    settings: Settings,
    goal: str,
    params: dict[str, Any] | None = None,
    job_id: str | None = None,
    on_progress: ProgressHandler | None = None,
    on_start: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Create a job and run its graph until it ends, pauses or waits for approval."""
    job_id, options = _new_job(settings, goal, params, job_id)
    with open_campaigns(settings) as (graph, jobs), _job_lock(settings, jobs, job_id):
        if jobs.exists(job_id):
            raise ConfigError(f"job {job_id!r} already exists; use `cmo-agent resume {job_id}`")
        job = jobs.create(job_id, goal, options)
        if on_start is not None:
            on_start(job_id)
        state: RunState = new_run_state(job_id, goal, options)
        return _execute(graph, jobs, job, state, settings, on_progress)


def enqueue_campaign(
    settings: Settings, goal: str, params: dict[str, Any] | None = None, job_id: str | None = None
) -> Job:
    """Create a job and put it on the work queue (PostgreSQL) for a `cmo-agent worker`: status `queued`."""
    from cmo_agent.work_queue import defer_job, opened_queue, queue_url

    job_id, options = _new_job(settings, goal, params, job_id)
    queue_url(settings)
    with open_campaigns(settings) as (_, jobs):
        with _job_lock(settings, jobs, job_id):
            if jobs.exists(job_id):
                raise ConfigError(f"job {job_id!r} already exists; use `cmo-agent resume {job_id}`")
            jobs.create(job_id, goal, options)
            jobs.set_status(job_id, "queued")
            with opened_queue(settings) as app:
                defer_job(app, job_id)
        return jobs.get(job_id)


def enqueue_resume(settings: Settings, job_id: str) -> tuple[Job, bool]:
    """Put an existing job on the work queue; (its record, whether it was queued now rather than already)."""
    from cmo_agent.work_queue import defer_job, opened_queue, queue_url

    queue_url(settings)
    with _open_job(settings, job_id) as (_, jobs):
        job = jobs.get(job_id)
        if job.locked:
            raise ConfigError(f"job {job_id!r} is running ({job.runner}); it needs no queueing")
        if job.status == "done":
            raise ConfigError(f"job {job_id!r} is done: nothing to queue")
        with opened_queue(settings) as app:
            queued = defer_job(app, job_id)
        if job.status != "waiting":  # a waiting job keeps saying until when
            jobs.set_status(job_id, "queued", error=job.error if job.status == "queued" else None)
        return jobs.get(job_id), queued


def resume_campaign(
    settings: Settings,
    job_id: str,
    on_progress: ProgressHandler | None = None,
    answer: Any = None,
    resend_unknown: bool = False,
    retry_errors: bool = False,
) -> RunOutcome:
    """Continue a job from its last checkpoint; `answer` resumes an approval interrupt.

    Messages a crash caught mid-transaction become `unknown` and are not sent again, unless
    `resend_unknown` (then they, and earlier unknowns, are planned again). `retry_errors` puts the
    repositories and people whose lookup failed back to their stage, which takes them again, and
    the stages after it run on (also for a finished job); `RunOutcome.retried` says which.
    """
    with _open_job(settings, job_id) as (graph, jobs):
        jobs.get(job_id)
        with _job_lock(settings, jobs, job_id):
            return _resume_locked(graph, jobs, settings, job_id, on_progress, answer, resend_unknown, retry_errors)


def _resume_locked(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    jobs: JobStore,
    settings: Settings,
    job_id: str,
    on_progress: ProgressHandler | None,
    answer: Any,
    resend_unknown: bool,
    retry_errors: bool = False,
) -> RunOutcome:
    job = jobs.get(job_id)
    if job.params.get("deliver") == "smtp":
        with open_ledger(settings) as ledger:
            ledger.settle_interrupted(job_id, resend_unknown=resend_unknown)
    snapshot = _upgraded(graph, job_id, graph.get_state(thread_config(job_id)))
    values = values_of(snapshot)
    unknown = sorted(key for key, draft in values.get("to_send", {}).items() if draft.get("status") == "unknown")
    unknown_follow_ups = sorted(
        key for key, draft in values.get("follow_ups", {}).items() if draft.get("status") == "unknown"
    )
    if resend_unknown and (unknown or unknown_follow_ups):
        # Back to the delivery step, also for a finished job: the ledger has planned them again
        # (follow-ups of any step are sent by the follow-up stage before it goes on).
        again = Draft(status="drafted", resend_after_unknown=True)
        update = RunState(to_send=dict.fromkeys(unknown, again), follow_ups=dict.fromkeys(unknown_follow_ups, again))
        graph.update_state(thread_config(job_id), update, as_node="approve")
        snapshot = graph.get_state(thread_config(job_id))
    retried: dict[str, list[str]] | None = None
    if retry_errors:
        if any(task.interrupts for task in snapshot.tasks):
            raise ConfigError(f"job {job_id!r} is waiting for approval: `cmo-agent approve {job_id}` first, then retry")
        retried, marked = _failed_items(values_of(snapshot))
        if marked:
            # Back to the stage before the earliest one with failed items (also for a finished job): the
            # marked records make those items pending there, and the stages after it run on.
            first = min(retried, key=STAGES.index)
            before = STAGES[STAGES.index(first) - 1]
            graph.update_state(thread_config(job_id), RunState(errors=marked), as_node=before)
            snapshot = graph.get_state(thread_config(job_id))
    outcome = _resume_snapshot(graph, jobs, settings, job, snapshot, on_progress, answer)
    outcome.retried = retried
    return outcome


# Stages whose failed items `resume --retry-errors` puts back, and where the items are (repositories, people).
RETRYABLE: dict[str, Callable[[RunState], Mapping[str, Any]]] = {
    "extract_candidates": lambda state: state.get("repos", {}),
    "enrich": lambda state: state.get("candidates", {}),
}


def _failed_items(state: RunState) -> tuple[dict[str, list[str]], list[ErrorRecord]]:
    """The items whose failure is unresolved, by stage, and their records marked for a retry."""
    retried: dict[str, set[str]] = {}
    marked: list[ErrorRecord] = []
    for error in unresolved(state.get("errors", [])):
        stage, item = error["stage"], error["item"]
        if stage not in RETRYABLE or item not in RETRYABLE[stage](state):
            continue
        marked.append(marked_for_retry(error))
        retried.setdefault(stage, set()).add(item)
    return {stage: sorted(items) for stage, items in retried.items()}, marked


def _upgraded(graph: CompiledStateGraph[Any, Any, Any, Any], job_id: str, snapshot: StateSnapshot) -> StateSnapshot:
    """`snapshot` with what an older RunState needs written before the job runs on (see
    `core/state_migrations.py`): a job whose report stage ran before 0.6.0 is marked done."""
    values = values_of(snapshot)
    check_state_version(job_id, values)
    if snapshot.next or not lacks_completion(values) or snapshot.parent_config is None:
        return snapshot
    if (snapshot.metadata or {}).get("source") != "loop" or graph.get_state(snapshot.parent_config).next != ("report",):
        return snapshot  # the last checkpoint is not the report stage's step
    graph.update_state(thread_config(job_id), completion(str(snapshot.created_at)), as_node="report")
    return graph.get_state(thread_config(job_id))


def _resume_snapshot(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    jobs: JobStore,
    settings: Settings,
    job: Job,
    snapshot: StateSnapshot,
    on_progress: ProgressHandler | None,
    answer: Any,
) -> RunOutcome:
    """Run the job on from `snapshot` (the caller holds its lock and has applied any edits)."""
    job_id = job.job_id
    if is_completed(snapshot):
        return _ended(graph, jobs, settings, job_id, "done", snapshot=snapshot)
    waits = snapshot.next in (("deliver",), ("follow_up",)) and answer is None
    if waits and _not_due(values_of(snapshot), snapshot.next[0], settings):  # say so, send nothing, write nothing
        return _waiting(graph, jobs, settings, job_id)
    if (
        snapshot.next == ("follow_up",)
        and answer is None
        and (problem := _sync_before_step(settings, job_id, values_of(snapshot)))
    ):
        reason = f"nothing sent: the mailbox must be read before a follow-up step, and {problem}"
        return _ended(graph, jobs, settings, job_id, "paused", snapshot=snapshot, reason=reason)
    graph_input: Any
    if snapshot.created_at is None:
        # Stopped before its first checkpoint: start again from what the job record says.
        graph_input = new_run_state(job_id, job.goal, job.params)
    else:
        graph_input = Command(resume=answer) if answer is not None else None
    return _execute(graph, jobs, job, graph_input, settings, on_progress)


REPLAY_OPTIONS = (
    "min_score",
    "max_leads",
    "deliver",
    "require_approval",
    "follow_ups",
    "follow_up_after",
    "template",
    "prompt",
)
"""Run options a fork may change: what happens to the leads, not how they were found."""


def replay_campaign(
    settings: Settings,
    job_id: str,
    checkpoint_id: str,
    new_job_id: str | None = None,
    params: dict[str, Any] | None = None,
    on_progress: ProgressHandler | None = None,
    on_start: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Fork `job_id` at `checkpoint_id` into a new job and run it on, with `params` changed.

    The new job starts from that checkpoint's state (stages done before it make no request
    again) on a thread of its own, so the original's history stays exactly as it was. A fork
    never mails anyone another job mailed: the ledger, not the copied state, decides."""
    changed = {key: value for key, value in (params or {}).items() if value is not None}
    if unknown := sorted(set(changed) - set(REPLAY_OPTIONS)):
        raise ConfigError(f"a replay cannot change {', '.join(unknown)} (only {', '.join(REPLAY_OPTIONS)})")
    with _open_job(settings, job_id) as (graph, jobs):
        origin = jobs.get(job_id)
        snapshot = _snapshot_at(graph, job_id, checkpoint_id)
        fork_id = validate_job_id(new_job_id or f"{job_id[:50]}-fork-{secrets.token_hex(3)}")
        options = validate_params({**origin.params, **changed})
        check_pitch(settings)
        if options.get("deliver") == "smtp":
            check_smtp_ready(settings)
        with _job_lock(settings, jobs, fork_id):
            if jobs.exists(fork_id):
                raise ConfigError(f"job {fork_id!r} already exists; choose another --job-id")
            values = values_of(snapshot)
            writer = (values.get("progress") or {}).get("node")
            job = jobs.create(fork_id, origin.goal, options)
            if on_start is not None:
                on_start(fork_id)
            # The fork's counters count its own requests and tokens; the original's up to the
            # checkpoint stay with the record of where it came from.
            forked: dict[str, Any] = {"job_id": job_id, "checkpoint_id": checkpoint_id}
            forked |= {"node": str(writer or "(input)"), "counters": dict(values.get("counters") or {})}
            if writer is None:  # no stage had run yet: the fork starts like a new job
                fresh = new_run_state(fork_id, origin.goal, options)
                fresh["forked_from"] = forked
                return _execute(graph, jobs, job, fresh, settings, on_progress)
            fork_state = RunState(**values)
            fork_state["job_id"] = fork_id
            fork_state["params"] = options
            fork_state["forked_from"] = forked
            for key in ("completed_at", "counters"):
                fork_state.pop(key, None)  # type: ignore[misc]
            graph.update_state(thread_config(fork_id), fork_state, as_node=str(writer))
            return _execute(graph, jobs, job, None, settings, on_progress)


def _not_due(state: RunState, node: str, settings: Settings) -> bool:
    """Whether the job, about to run `node`, has nothing to do before its send window opens (a wait
    computed with the window and zone still configured) or, for `follow_up`, its next step is due."""
    from cmo_agent.send_window import active_wait
    from cmo_agent.stages.follow_up import due_at, resends

    now = clock.now()
    wait = active_wait(state)
    if wait is not None and wait.get("stage") == node:
        same_rule = (wait.get("window"), wait.get("sender_tz")) == (settings.send_window, settings.sender_tz or "")
        return same_rule and wait["due_at"] > now
    if node != "follow_up":
        return False
    due = due_at(state)
    return due is not None and due > now and not resends(state)


def _sync_before_step(settings: Settings, job_id: str, state: RunState) -> str | None:
    """When IMAP is configured and a follow-up step is about to be drafted, read the mailbox into the
    job first, so a reply that came since the last sync still stops the step; what failed, if it did."""
    from cmo_agent.stages.follow_up import sequence_of
    from cmo_agent.sync.run import sync

    sequence = sequence_of(state)
    if not settings.imap_host or sequence is None or sequence.get("drafted", 0) >= sequence["step"]:
        return None
    if state.get("params", {}).get("demo"):
        return None  # made-up people: nothing of theirs can be in a real mailbox
    try:
        sync(settings, job_id, held=job_id)
    except Exception as exc:
        return f"reading it failed: {exc}"
    return None


def approve_campaign(
    settings: Settings, job_id: str, reject: list[str], on_progress: ProgressHandler | None = None
) -> RunOutcome:
    """Answer the job's approval gate (`reject` drafts by login) and run on."""
    with _open_job(settings, job_id) as (graph, jobs):
        jobs.get(job_id)
        with _job_lock(settings, jobs, job_id):
            job = jobs.get(job_id)
            snapshot = graph.get_state(thread_config(job_id))
            if not any(task.interrupts for task in snapshot.tasks):
                raise ConfigError(f"job {job_id!r} is not waiting for approval (status {job.shown_status})")
            unknown = sorted(set(reject) - set(snapshot.values.get("to_send", {})))
            if unknown:
                raise ConfigError(f"--reject: no draft for {', '.join(unknown)} in job {job_id!r}")
            answer = {"reject": list(reject)}
            return _resume_locked(graph, jobs, settings, job_id, on_progress, answer, resend_unknown=False)


def request_pause(settings: Settings, job_id: str) -> Job:
    """Ask the process running `job_id` to stop after the items in flight."""
    with _open_job(settings, job_id) as (_, jobs):
        job = jobs.get(job_id)
        if not job.locked:
            raise ConfigError(f"job {job_id!r} is not running (status {job.shown_status})")
        jobs.request_pause(job_id)
        return job


def checkpoint_history(settings: Settings, job_id: str, node: str | None = None) -> list[dict[str, Any]]:
    """The job's checkpoints, newest first: id, step, the node that wrote it, what runs next, time,
    the step's duration and the collections' counts (of one node's steps with `node`).

    Read from the checkpointer's list and each stage's `progress` record, so no state is rebuilt;
    only a checkpoint without one (the input, a `sync` or other update, a job from before 0.8.0)
    has its state rebuilt to count it."""
    with _open_job(settings, job_id) as (graph, jobs):
        jobs.get(job_id)
        config = thread_config(job_id)
        saver = graph.checkpointer
        assert isinstance(saver, BaseCheckpointSaver)
        listed = list_checkpoints(saver, config)
        if any(_loop_step(item) and not item.has_progress for item in listed):
            rows = _with_pruned(_history_by_replay(graph, config), listed)  # before 0.8.0: no progress records
            return [row for row in rows if node is None or row["node"] == node]
        newest = listed[0] if listed else None
        finished = newest is not None and newest.progress is not None and newest.progress.get("node") == "report"
        runs_next = [] if finished or newest is None else list(graph.get_state(config).next)
        counted = _counts_by_checkpoint(graph, listed)
        rows = []
        for index, item in enumerate(listed):
            source = item.metadata.get("source")
            if source == "loop" and item.progress is not None and "node" in item.progress:
                writer = str(item.progress["node"])
            else:
                writer = "(input)" if source == "input" or source == "loop" else f"({source or 'update'})"
            counts = counted[index]
            older = listed[index + 1] if index + 1 < len(listed) else None
            rows.append(
                {
                    "checkpoint_id": item.config["configurable"]["checkpoint_id"],
                    "step": item.metadata.get("step"),
                    "node": writer,
                    "next": runs_next,
                    "created_at": item.ts,
                    "duration_s": _seconds_between(older.ts, item.ts) if older is not None else None,
                    "counts": {key: counts.get(key, 0) for key in HISTORY_COUNTS}
                    | ({"follow_ups": counts["follow_ups"]} if counts.get("follow_ups") else {}),
                }
            )
            if source == "loop":  # an update (a sync) changes no stage's course
                runs_next = [writer]
    rows = _with_pruned(rows, listed)
    return [row for row in rows if node is None or row["node"] == node]


HISTORY_COUNTS = ("repos", "candidates", "leads", "to_send", "errors")


def _loop_step(item: Listed) -> bool:
    """Whether a stage step wrote the checkpoint: a loop checkpoint after step 0 (at step 0 the
    graph's input entered the state, and no stage has run yet to write a `progress` record)."""
    return item.metadata.get("source") == "loop" and item.metadata.get("step") != 0


def _history_by_replay(graph: CompiledStateGraph[Any, Any, Any, Any], config: Any) -> list[dict[str, Any]]:
    """History rebuilt from every checkpoint's state (jobs from before 0.8.0: slow on big jobs)."""
    snapshots = list(graph.get_state_history(config))
    rows = []
    for index, snap in enumerate(snapshots):
        older = snapshots[index + 1] if index + 1 < len(snapshots) else None
        values = snap.values or {}
        source = (snap.metadata or {}).get("source")
        rows.append(
            {
                "checkpoint_id": snap.config["configurable"]["checkpoint_id"],
                "step": (snap.metadata or {}).get("step"),
                "node": ",".join(older.next) if older is not None and source == "loop" else f"({source or 'input'})",
                "next": list(snap.next),
                "created_at": snap.created_at,
                "duration_s": _seconds_between(older.created_at, snap.created_at) if older is not None else None,
                "counts": {key: len(values.get(key) or {}) for key in HISTORY_COUNTS},
            }
        )
    return rows


def _counts_by_checkpoint(graph: CompiledStateGraph[Any, Any, Any, Any], listed: list[Listed]) -> list[dict[str, int]]:
    """Each checkpoint's counts: a stage step's from its `progress` record; an update's (a sync, a
    resend: they change records, never how many there are) from the stage step before it; the
    state is rebuilt only for a checkpoint with neither (the input, an update that seeded the job)."""
    counts: list[dict[str, int]] = [{} for _ in listed]
    carried: dict[str, int] | None = None
    for index in range(len(listed) - 1, -1, -1):
        item = listed[index]
        if item.metadata.get("source") == "loop" and item.progress is not None and "counts" in item.progress:
            carried = dict(item.progress["counts"])
        elif carried is None or item.metadata.get("source") == "input":
            carried = _counts_at(graph, item.config)
        counts[index] = carried
    return counts


def _counts_at(graph: CompiledStateGraph[Any, Any, Any, Any], config: Any) -> dict[str, int]:
    values = graph.get_state(config).values or {}
    keys = ("repos", "candidates", "leads", "to_send", "follow_ups", "errors")
    return {key: len(values.get(key) or {}) for key in keys}


def _seconds_between(earlier: Any, later: Any) -> float | None:
    try:
        return round((datetime.fromisoformat(str(later)) - datetime.fromisoformat(str(earlier))).total_seconds(), 3)
    except ValueError:
        return None


def current_state(settings: Settings, job_id: str) -> tuple[Job, RunState]:
    """The job record and the latest RunState values."""
    with _open_job(settings, job_id) as (graph, jobs):
        job = jobs.get(job_id)
        return job, values_of(graph.get_state(thread_config(job_id)))


def list_jobs(settings: Settings) -> list[Job]:
    """Every job, newest first (none when there is no database yet: nothing is created)."""
    try:
        with open_campaigns(settings, create=False) as (_, jobs):
            return jobs.list()
    except DatabaseMissing:
        return []


def export_json(settings: Settings, job_id: str, checkpoint_id: str | None = None) -> str:
    """The job's RunState as JSON text: the latest, or the state at `checkpoint_id`."""
    if checkpoint_id is None:
        _, values = current_state(settings, job_id)
    else:
        values = state_at(settings, job_id, checkpoint_id)
    return json.dumps(values, indent=2, sort_keys=False, default=str) + "\n"


def state_at(settings: Settings, job_id: str, checkpoint_id: str) -> RunState:
    """The job's RunState at one of its checkpoints; ConfigError when the job has no such checkpoint."""
    with _open_job(settings, job_id) as (graph, jobs):
        jobs.get(job_id)
        return values_of(_snapshot_at(graph, job_id, checkpoint_id))


def _snapshot_at(graph: CompiledStateGraph[Any, Any, Any, Any], job_id: str, checkpoint_id: str) -> StateSnapshot:
    snapshot = graph.get_state(thread_config(job_id, checkpoint_id))
    found = snapshot.config.get("configurable", {}).get("checkpoint_id") if snapshot.created_at else None
    if found != checkpoint_id:
        raise ConfigError(
            f"job {job_id!r} has no checkpoint {checkpoint_id!r} (`cmo-agent history {job_id}` lists them)"
            + _pruned_note(graph, job_id)
        )
    return snapshot


def _pruned_note(graph: CompiledStateGraph[Any, Any, Any, Any], job_id: str) -> str:
    """What to add to "no such checkpoint" for a pruned job, whose history lists checkpoints that are gone."""
    saver = graph.checkpointer
    assert isinstance(saver, BaseCheckpointSaver)
    if any(PRUNED_KEY in item.metadata for item in list_checkpoints(saver, thread_config(job_id))):
        return "; the job was pruned: only the checkpoints `history` does not mark pruned are kept"
    return ""


def export_state(
    settings: Settings, job_id: str, out: Path | None = None, force: bool = False, checkpoint_id: str | None = None
) -> Path:
    """Write the job's RunState (or its state at `checkpoint_id`) as JSON: to `out` (a new regular
    file, or an existing one with `force`), or to `$CMO_DATA_DIR/runstate_{job_id}.json` (with the
    checkpoint, `runstate_{job_id}@{checkpoint_id}.json`), which is refreshed on every export."""
    text = export_json(settings, job_id, checkpoint_id)
    if out is None:
        ensure_data_dir(settings)
        name = f"runstate_{job_id}.json" if checkpoint_id is None else f"runstate_{job_id}@{checkpoint_id}.json"
        return write_text_file(settings.data_dir / name, text, overwrite=True)
    return write_text_file(out, text, overwrite=force)


def _with_pruned(rows: list[dict[str, Any]], listed: list[Listed]) -> list[dict[str, Any]]:
    """`rows` followed by the rows of the checkpoints `prune` deleted (kept in the metadata of the
    checkpoint it kept, older than every listed one), each with `"pruned": true`; a checkpoint still
    listed (a prune stopped before its deletions) is not listed twice."""
    record = next((item.metadata[PRUNED_KEY] for item in listed if PRUNED_KEY in item.metadata), None)
    if not isinstance(record, dict) or not rows:
        return rows
    live = {row["checkpoint_id"] for row in rows}
    pruned = [row | {"pruned": True} for row in record.get("rows", []) if row["checkpoint_id"] not in live]
    if pruned and rows[-1]["duration_s"] is None:
        rows[-1]["duration_s"] = _seconds_between(pruned[0]["created_at"], rows[-1]["created_at"])
    return rows + pruned


def prune_job(settings: Settings, job_id: str) -> PruneOutcome:
    """Shrink a done job's checkpoints to its last one, made self-contained, and say what that freed.

    What `status`, `report`, `export` (the final state, exactly), `resume` and `replay` from the
    last checkpoint read is kept; `history` still lists every step, the deleted ones marked
    `pruned` (their states are gone: no `export --checkpoint` or `replay` from them). On SQLite
    the database is VACUUMed so the file shrinks. ConfigError for a job that is not done."""
    from langgraph.channels import DeltaChannel

    with _open_job(settings, job_id) as (graph, jobs):
        _refuse_unless_done(job_id, jobs.get(job_id).shown_status)  # as `status` says it
        with _job_lock(settings, jobs, job_id):
            _refuse_unless_done(job_id, jobs.get(job_id).status)  # and still, now that the lock is held
            config = thread_config(job_id)
            saver = graph.checkpointer
            assert isinstance(saver, BaseCheckpointSaver)
            snapshot = _upgraded(graph, job_id, graph.get_state(config))
            kept = saver.get_tuple(config)
            if not is_completed(snapshot) or kept is None:
                raise ConfigError(f"job {job_id!r} has not finished its final stage: `cmo-agent resume {job_id}`")
            thread_id = str(config["configurable"]["thread_id"])
            database = "postgresql" if is_postgres(settings.resolved_checkpoint_url()) else "sqlite"
            collections = [name for name, channel in graph.channels.items() if isinstance(channel, DeltaChannel)]
            before = checkpoint_prune.footprint(saver, thread_id)
            if before.checkpoints <= 1 and checkpoint_prune.self_contained(kept, collections):
                return PruneOutcome(job_id, database, before, before, vacuumed=False)
            kept_id = kept.config["configurable"]["checkpoint_id"]
            older = [
                {key: value for key, value in row.items() if key != "pruned"}
                for row in checkpoint_history(settings, job_id)
                if row["checkpoint_id"] != kept_id
            ]
            pruned = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "rows": older}
            checkpoint_prune.keep_only(saver, kept, values_of(snapshot), collections, pruned)
            vacuumed = checkpoint_prune.vacuum(saver)
            after = checkpoint_prune.footprint(saver, thread_id)
    return PruneOutcome(job_id, database, before, after, vacuumed=vacuumed)


def _refuse_unless_done(job_id: str, status: str) -> None:
    if status != "done":
        raise ConfigError(f"job {job_id!r} is {status}: only a done job can be pruned")


@dataclass(frozen=True)
class PruneOutcome:
    """What `prune_job` did: the job's checkpoint rows and bytes, and the database's size, before and after."""

    job_id: str
    database: str
    """`sqlite` or `postgresql`."""
    before: Footprint
    after: Footprint
    vacuumed: bool
    """Whether VACUUM ran: SQLite's file shrinks; PostgreSQL's space becomes reusable, its files keep their size."""

    @property
    def freed_bytes(self) -> int:
        return self.before.bytes - self.after.bytes

    def as_dict(self) -> dict[str, Any]:
        """The `prune --json` object."""

        def span(field: str) -> dict[str, int]:
            return {"before": getattr(self.before, field), "after": getattr(self.after, field)}

        return {
            "job_id": self.job_id,
            "pruned": self.after.rows < self.before.rows,
            "checkpoints": span("checkpoints"),
            "rows": span("rows"),
            "bytes": span("bytes"),
            "freed_bytes": self.freed_bytes,
            "database": self.database,
            "database_bytes": span("database_bytes"),
            "vacuumed": self.vacuumed,
        }
