"""What a campaign's state adds up to: the funnel, model usage and delivery outcomes.

One module for every view of them: the report stage keeps them in `reports.summary`, and the CLI's
run summary and `status` show them, so each number is computed one way everywhere.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cmo_agent.core.config import Settings
from cmo_agent.core.records import DELIVERED_STATUSES
from cmo_agent.core.state import RunState

SMTP_OUTCOMES = ("sent", "bounced", "deferred", "unknown", "failed")


def funnel(state: RunState) -> dict[str, int]:
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
        "delivered": sum(1 for d in drafts if d.get("status") in DELIVERED_STATUSES),
    }


def llm_usage(state: RunState, settings: Settings) -> dict[str, Any]:
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


def delivery_counts(state: RunState) -> dict[str, int]:
    """Drafts by status (drafted, rejected, written, sent, bounced, ...)."""
    return dict(Counter(str(draft.get("status")) for draft in state.get("to_send", {}).values()))


def outcomes(state: RunState) -> dict[str, int]:
    """What became of the messages sent: each lead counts once, in its strongest outcome (an
    unsubscribe request sent as a reply is `unsubscribed`); `bounced` joins refusals at SMTP time
    and delivery-status reports."""
    drafts = state.get("to_send", {})
    counts = dict.fromkeys(("sent", "bounced", "replied", "unsubscribed", "auto_replied", "soft_bounced"), 0)
    for login, lead in state.get("leads", {}).items():
        status = drafts.get(login, {}).get("status")
        outcome = lead.get("outcome")
        if status == "sent":
            counts["sent"] += 1
        if status == "bounced" or outcome == "bounced":
            counts["bounced"] += 1
        elif outcome is not None:
            counts[outcome] += 1
        if lead.get("soft_bounce") and outcome is None:
            counts["soft_bounced"] += 1
    return counts


def smtp_outcomes(state: RunState) -> dict[str, int]:
    """What SMTP delivery did, by status; empty for outbox runs."""
    counts = delivery_counts(state)
    counts.pop("written", None)
    return counts if any(status in counts for status in SMTP_OUTCOMES) else {}


def errors_by_stage(state: RunState, commonest: int = 3) -> dict[str, dict[str, Any]]:
    """Errors per stage: how many, and their commonest kinds (`ExceptionType: message` cut short)."""
    found: dict[str, Counter[str]] = {}
    for error in state.get("errors", []):
        found.setdefault(error.get("stage", "?"), Counter())[str(error.get("error", ""))[:120]] += 1
    return {
        stage: {"count": sum(kinds.values()), "commonest": [k for k, _ in kinds.most_common(commonest)]}
        for stage, kinds in sorted(found.items())
    }


def replies(state: RunState) -> list[dict[str, Any]]:
    """Who replied, when, and the first words of the reply, newest first."""
    found = [
        {"login": login, "at": lead.get("outcome_at"), "text": lead.get("outcome_detail", "")}
        for login, lead in state.get("leads", {}).items()
        if lead.get("outcome") == "replied"
    ]
    return sorted(found, key=lambda item: str(item["at"] or ""), reverse=True)


def github_usage(state: RunState) -> dict[str, int]:
    counters = state.get("counters", {})
    names = ("github_api_calls", "github_cache_hits", "github_wait_seconds", "github_graphql_points")
    return {name.removeprefix("github_"): counters.get(name, 0) for name in names}


def job_report(state: RunState, settings: Settings) -> dict[str, Any]:
    """Everything `cmo-agent report` shows: the funnel to replies, outcomes and their rates, usage and
    errors. Outcomes are counted from the leads, so a job synced after its report stage is current."""
    sent = outcomes(state)
    delivered = sent["sent"] or 0
    rates = {
        name: round(sent[name] / delivered, 4) if delivered else None
        for name in ("replied", "bounced", "unsubscribed", "auto_replied")
    }
    return {
        "job_id": state.get("job_id"),
        "goal": state.get("goal"),
        "funnel": funnel(state) | {"replied": sent["replied"]},
        "outcomes": sent,
        "rates": rates,
        "delivery": delivery_counts(state),
        "github": github_usage(state),
        "llm": llm_usage(state, settings),
        "errors": errors_by_stage(state),
        "replies": replies(state),
        "completed_at": state.get("completed_at"),
    }
