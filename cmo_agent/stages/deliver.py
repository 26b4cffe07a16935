"""Stage 8, deliver: approved drafts become messages (by default .eml files in the outbox), each while
its recipient's send window is open."""

from __future__ import annotations

from collections.abc import Mapping

from langgraph.runtime import Runtime

from cmo_agent.adapters.outbox import outbox_dir, write_eml
from cmo_agent.context import CampaignContext
from cmo_agent.core import clock
from cmo_agent.core.errors import utc_now
from cmo_agent.core.records import PENDING_STATUSES, Draft, Lead
from cmo_agent.core.state import RunState
from cmo_agent.mail.message import build_message
from cmo_agent.send_window import (
    SendWait,
    WindowClosed,
    parse_send_window,
    plan_sends,
    recipient_zone,
    send_wait,
    sender_zone,
    wait_note,
)
from cmo_agent.stages.common import param, report_progress, settings_of
from cmo_agent.stages.deliver_smtp import deliver_smtp


def pending_deliveries(state: RunState) -> list[str]:
    """Drafts not delivered yet: new ones, and (SMTP) those a 4xx answer deferred."""
    return sorted(login for login, draft in state.get("to_send", {}).items() if draft.get("status") in PENDING_STATUSES)


def deliver(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Deliver the next batch whose send window is open: to the outbox by default, over SMTP when
    the run asked for it; when no window is open, wait for the first to open."""
    drafts = state.get("to_send", {})
    due, reports = in_window(state, runtime, pending_deliveries(state), drafts, "deliver")
    if reports.get("send_window"):
        return {"reports": reports}
    updates, counters = deliver_batch(state, runtime, due, drafts)
    return RunState(to_send=updates, counters=counters) | (RunState(reports=reports) if reports else {})


def in_window(
    state: RunState, runtime: Runtime[CampaignContext], pending: list[str], drafts: Mapping[str, Draft], node: str
) -> tuple[list[str], dict[str, SendWait]]:
    """The `pending` drafts whose recipient's send window (`CMO_SEND_WINDOW`) is open now, in the
    order to send them (the window that closes soonest first), and the `reports` update: when none
    is open, the wait for the first to open (the run drains with `waiting_until`, and the job is
    "waiting"); when some are, the end of an earlier wait. Without a window every draft is open."""
    settings = settings_of(runtime)
    window = parse_send_window(settings.send_window) if settings.send_window else None
    sender = sender_zone(settings.sender_tz)
    leads = state.get("leads", {})
    zones = {key: recipient_zone(leads.get(drafts[key].get("login", key), Lead()), sender) for key in pending}
    plan = plan_sends(pending, zones, window, clock.now())
    waited = state.get("reports", {}).get("send_window")
    if plan.now or not plan.later or window is None:
        return plan.now, ({"send_window": SendWait()} if waited else {})
    wait = send_wait(plan, zones, window, settings.sender_tz, node)
    context = runtime.context if isinstance(runtime.context, CampaignContext) else None
    if context is None or context.control is None:
        raise WindowClosed(wait_note(wait))
    context.waiting_until = wait["due_at"]
    context.control.request_drain(wait_note(wait))
    return [], {"send_window": wait}


def deliver_batch(
    state: RunState,
    runtime: Runtime[CampaignContext],
    pending: list[str],
    drafts: Mapping[str, Draft],
    stage: str = "deliver",
) -> tuple[dict[str, Draft], dict[str, int]]:
    """The next batch of the `pending` drafts, delivered the run's way (SMTP when it asked for it,
    else the outbox): each draft's update, and the step's counters."""
    if param(state, "deliver", "outbox") == "smtp":
        return deliver_smtp(state, runtime, pending, drafts, stage)
    written = deliver_outbox(state, runtime, pending, drafts, stage)
    return written, {"outbox_written": len(written)}


def eml_name(draft: Draft) -> str:
    """The outbox file name of a draft: the login, and the step for a follow-up."""
    step = draft.get("step", 0)
    return draft["login"] + (f".follow-up-{step}" if step else "")


def deliver_outbox(
    state: RunState,
    runtime: Runtime[CampaignContext],
    pending: list[str],
    drafts: Mapping[str, Draft],
    stage: str = "deliver",
) -> dict[str, Draft]:
    """Write the next batch of the `pending` drafts to the outbox, each under its stable Message-ID."""
    settings = settings_of(runtime)
    directory = outbox_dir(settings.data_dir, state["job_id"])
    batch = pending[: settings.batch_size]
    leads = state.get("leads", {})
    written: dict[str, Draft] = {}
    for key in batch:
        draft = drafts[key]
        message = build_message(draft, leads[draft.get("login", key)], settings)
        path = write_eml(directory, eml_name(draft | {"login": draft.get("login", key)}), message)
        written[key] = Draft(status="written", outbox_path=str(path), delivered_at=utc_now())
    done = sum(1 for d in drafts.values() if d.get("status") == "written") + len(written)
    report_progress(runtime, stage, done, done + len(pending) - len(batch))
    return written
