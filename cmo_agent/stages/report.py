"""Stage 10, report: the campaign's funnel, usage and errors, kept in `reports.summary`."""

from __future__ import annotations

from langgraph.runtime import Runtime

from cmo_agent.adapters.outbox import outbox_dir
from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import utc_now
from cmo_agent.core.state import RunState
from cmo_agent.reporting import delivery_counts, funnel, llm_usage
from cmo_agent.stages.common import param, settings_of


def report(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    settings = settings_of(runtime)
    counters = state.get("counters", {})
    finished_at = utc_now()
    summary = {
        "funnel": funnel(state),
        "llm": llm_usage(state, settings),
        "delivery": delivery_counts(state),
        "github_api_calls": counters.get("github_api_calls", 0),
        "errors": len(state.get("errors", [])),
        "outbox": str(outbox_dir(settings.data_dir, state["job_id"]).resolve())
        if param(state, "deliver", "outbox") == "outbox"
        else None,
        "finished_at": finished_at,
    }
    return {"reports": {"summary": summary}, "completed_at": finished_at}
