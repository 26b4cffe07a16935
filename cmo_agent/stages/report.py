"""Stage 9, report: the campaign's funnel, usage and errors, kept in `reports.summary`."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cmo_agent.adapters.outbox import outbox_dir
from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import utc_now
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import settings_of


def funnel(state: RunState | dict[str, Any]) -> dict[str, int]:
    """How many items reached each stage, counted from the state itself."""
    leads = state.get("leads", {}).values()
    drafts = state.get("to_send", {}).values()
    return {
        "repos": len(state.get("repos", {})),
        "candidates": len(state.get("candidates", {})),
        "enriched": sum(1 for lead in leads if lead.get("status") == "enriched"),
        "with_address": sum(1 for lead in leads if lead.get("email")),
        "valid_address": sum(1 for lead in leads if lead.get("hygiene", {}).get("ok")),
        "qualified": sum(1 for lead in leads if lead.get("qualified")),
        "drafted": len(state.get("to_send", {})),
        "delivered": sum(1 for d in drafts if d.get("status") == "written"),
    }


def report(state: RunState, runtime: Runtime[CampaignContext]) -> dict[str, Any]:
    settings = settings_of(runtime)
    counters = state.get("counters", {})
    summary = {
        "funnel": funnel(state),
        "github_api_calls": counters.get("github_api_calls", 0),
        "errors": len(state.get("errors", [])),
        "outbox": str(outbox_dir(settings.data_dir, state["job_id"]).resolve()),
        "finished_at": utc_now(),
    }
    return {"reports": {"summary": summary}}
