"""Stage 9, report: the campaign's funnel, usage and errors, kept in `reports.summary`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from langgraph.runtime import Runtime

from cmo_agent.adapters.outbox import outbox_dir
from cmo_agent.context import CampaignContext
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import utc_now
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import param, settings_of


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
        "delivered": sum(1 for d in drafts if d.get("status") in ("written", "sent")),
    }


def llm_usage(state: RunState | dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Model requests, tokens and the estimated cost; why drafts fell back to the template."""
    counters = state.get("counters", {})
    usage: dict[str, Any] = {
        key: counters.get(key, 0) for key in ("llm_calls", "llm_prompt_tokens", "llm_completion_tokens")
    }
    if "llm_cost_micro_usd" in counters:
        usage["estimated_cost_usd"] = round(counters["llm_cost_micro_usd"] / 1_000_000, 6)
    elif usage["llm_calls"]:
        usage["estimated_cost_usd"] = None
        usage["note"] = f"no price known for {settings.llm_model}; set CMO_LLM_PRICES to estimate the cost"
    reasons = Counter(
        str(draft["fallback_reason"]).split(":")[0]
        for draft in state.get("to_send", {}).values()
        if "fallback_reason" in draft
    )
    usage["fallbacks"] = dict(reasons)
    return usage


def report(state: RunState, runtime: Runtime[CampaignContext]) -> dict[str, Any]:
    settings = settings_of(runtime)
    counters = state.get("counters", {})
    summary = {
        "funnel": funnel(state),
        "llm": llm_usage(state, settings),
        "delivery": dict(Counter(str(d.get("status")) for d in state.get("to_send", {}).values())),
        "github_api_calls": counters.get("github_api_calls", 0),
        "errors": len(state.get("errors", [])),
        "outbox": str(outbox_dir(settings.data_dir, state["job_id"]).resolve())
        if param(state, "deliver", "outbox") == "outbox"
        else None,
        "finished_at": utc_now(),
    }
    return {"reports": {"summary": summary}, "completed_at": summary["finished_at"]}
