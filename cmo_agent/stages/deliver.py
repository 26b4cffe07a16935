"""Stage 8, deliver: approved drafts become messages; by default .eml files in the outbox."""

from __future__ import annotations

from collections.abc import Mapping

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
    updates, counters = deliver_batch(state, runtime, pending_deliveries(state), state.get("to_send", {}))
    return {"to_send": updates, "counters": counters}


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
