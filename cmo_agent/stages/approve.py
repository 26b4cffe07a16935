"""Stage 7, approve: where a person can stop the campaign before anything leaves the machine."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import utc_now
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import param, settings_of
from cmo_agent.stages.follow_up import preview_follow_ups


def approve(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Outbox runs (nothing leaves the machine) pass; runs that ask for approval wait at an interrupt.

    The interrupt's answer is `{"reject": [login, ...]}`; rejected drafts are marked and not delivered.
    Only drafts not delivered yet are shown and can be rejected: when the stage runs again (`resume
    --retry-errors` drafted someone more), the gate is about the new drafts, and with none it passes.
    """
    drafts = {login: d for login, d in state.get("to_send", {}).items() if d.get("status") == "drafted"}
    if not param(state, "require_approval", False):
        return {"reports": {"approval": {"mode": "auto", "reason": "outbox delivery", "at": utc_now()}}}
    if not drafts and "approval" in state.get("reports", {}):
        return {}
    samples = [
        {"login": login, "to": d["to"], "subject": d["subject"], "body": d["body"]}
        for login, d in list(drafts.items())[:3]
    ]
    follow_ups = preview_follow_ups(state, settings_of(runtime))
    answer = interrupt({"drafts": len(drafts), "samples": samples, "follow_ups": follow_ups})
    rejected = [login for login in (answer or {}).get("reject", []) if login in drafts]
    return {
        "to_send": {login: {"status": "rejected"} for login in rejected},
        "reports": {"approval": {"mode": "manual", "rejected": rejected, "at": utc_now()}},
    }
