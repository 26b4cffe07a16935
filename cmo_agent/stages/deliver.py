"""Stage 8, deliver: approved drafts become messages; by default .eml files in the outbox."""

from __future__ import annotations

from langgraph.runtime import Runtime

from cmo_agent.adapters.outbox import outbox_dir, write_eml
from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import utc_now
from cmo_agent.core.records import PENDING_STATUSES, Draft
from cmo_agent.core.state import RunState
from cmo_agent.mail.message import build_message
from cmo_agent.stages.common import param, report_progress, settings_of
from cmo_agent.stages.deliver_smtp import deliver_smtp


def pending_deliveries(state: RunState) -> list[str]:
    """Drafts not delivered yet: new ones, and (SMTP) those a 4xx answer deferred."""
    return sorted(login for login, draft in state.get("to_send", {}).items() if draft.get("status") in PENDING_STATUSES)


def deliver(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Deliver the next batch: to the outbox by default, over SMTP when the run asked for it."""
    if param(state, "deliver", "outbox") == "smtp":
        return deliver_smtp(state, runtime, pending_deliveries(state))
    return deliver_outbox(state, runtime)


def deliver_outbox(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Write the next batch of drafts to the outbox, each under its stable Message-ID."""
    settings = settings_of(runtime)
    directory = outbox_dir(settings.data_dir, state["job_id"])
    batch = pending_deliveries(state)[: settings.batch_size]
    leads = state.get("leads", {})
    written: dict[str, Draft] = {}
    for login in batch:
        message = build_message(state["to_send"][login], leads[login], settings)
        path = write_eml(directory, login, message)
        written[login] = Draft(status="written", outbox_path=str(path), delivered_at=utc_now())
    drafts = state.get("to_send", {})
    done = sum(1 for d in drafts.values() if d.get("status") == "written") + len(written)
    report_progress(runtime, "deliver", done, done + len(pending_deliveries(state)) - len(batch))
    return {"to_send": written, "counters": {"outbox_written": len(written)}}
