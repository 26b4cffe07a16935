"""What a campaign's state adds up to: the funnel, model usage and delivery outcomes.

One module for every view of them: the report stage keeps them in `reports.summary`, and the CLI's
run summary and `status` show them, so each number is computed one way everywhere.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from cmo_agent.core.config import Settings
from cmo_agent.core.errors import unresolved
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


def follow_up_counts(state: RunState) -> dict[str, int]:
    """Follow-up messages by status (written, sent, unknown, stopped, ...); empty without follow-ups."""
    return dict(Counter(str(draft.get("status")) for draft in state.get("follow_ups", {}).values()))


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
    """Errors per stage: how many, how many no later attempt repaired, and their commonest kinds
    (`ExceptionType: message` cut short)."""
    found: dict[str, Counter[str]] = {}
    for error in state.get("errors", []):
        found.setdefault(error.get("stage", "?"), Counter())[str(error.get("error", ""))[:120]] += 1
    still = unresolved_errors(state)
    return {
        stage: {
            "count": sum(kinds.values()),
            "unresolved": still.get(stage, 0),
            "commonest": [k for k, _ in kinds.most_common(commonest)],
        }
        for stage, kinds in sorted(found.items())
    }


def unresolved_errors(state: RunState) -> dict[str, int]:
    """Errors no later attempt has repaired, by stage (what `status` shows; `resume --retry-errors`
    retries the failed repositories and people among them)."""
    return dict(sorted(Counter(str(e.get("stage", "?")) for e in unresolved(state.get("errors", []))).items()))


def replies(state: RunState) -> list[dict[str, Any]]:
    """Who replied, when, and the first words of the reply, newest first."""
    found = [
        {"login": login, "at": lead.get("outcome_at"), "text": lead.get("outcome_detail", "")}
        for login, lead in state.get("leads", {}).items()
        if lead.get("outcome") == "replied"
    ]
    return sorted(found, key=lambda item: str(item["at"] or ""), reverse=True)


def _when(text: object) -> datetime | None:
    """An ISO 8601 or RFC 5322 time as an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        try:
            found = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def steps(state: RunState) -> list[dict[str, Any]]:
    """The sequence step by step (first message, follow-up 1..N): messages by status, delivered,
    replied (a reply counts for the last step the lead had been sent when it came), its rate, and
    who the step left out and why."""
    first = state.get("to_send", {})
    follow_ups = state.get("follow_ups", {})
    total = int(state.get("params", {}).get("follow_ups", 0) or 0)
    by_lead: dict[str, list[tuple[int, datetime | None]]] = {}
    names = ["first message", *(f"follow-up {n}" for n in range(1, total + 1))]
    rows: list[dict[str, Any]] = [
        {"step": n, "name": name, "delivered": 0, "replied": 0, "stopped": {}, "statuses": {}}
        for n, name in enumerate(names)
    ]
    for draft in [*first.values(), *follow_ups.values()]:
        step = int(draft.get("step", 0))
        if step >= len(rows):
            continue
        rows[step]["statuses"][str(draft.get("status"))] = rows[step]["statuses"].get(str(draft.get("status")), 0) + 1
        if draft.get("status") in DELIVERED_STATUSES:
            rows[step]["delivered"] += 1
            when = _when(draft.get("sent_at") or draft.get("delivered_at"))
            by_lead.setdefault(str(draft.get("login")), []).append((step, when))
        elif draft.get("status") == "stopped":
            reasons = rows[step]["stopped"]
            reasons[str(draft.get("stop_reason"))] = reasons.get(str(draft.get("stop_reason")), 0) + 1
    for login, lead in state.get("leads", {}).items():
        if lead.get("outcome") != "replied" or login not in by_lead:
            continue
        at = _when(lead.get("outcome_at"))
        sent = sorted(by_lead[login], key=lambda item: item[0])
        before = [step for step, when in sent if at is None or when is None or when <= at]
        rows[before[-1] if before else sent[0][0]]["replied"] += 1
    for row in rows:
        row["reply_rate"] = round(row["replied"] / row["delivered"], 4) if row["delivered"] else None
    return rows


def stage_seconds(state: RunState) -> dict[str, float]:
    """Time each stage ran, summed over its steps (`counters.ms_<stage>`, counted as the job went)."""
    counters = state.get("counters", {})
    return {name[3:]: round(ms / 1000, 1) for name, ms in counters.items() if name.startswith("ms_")}


def github_usage(state: RunState) -> dict[str, int]:
    counters = state.get("counters", {})
    names = (
        "github_api_calls",
        "github_cache_hits",
        "github_fetched_ahead",
        "github_wait_seconds",
        "github_graphql_points",
    )
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
        "steps": steps(state),
        "outcomes": sent,
        "rates": rates,
        "delivery": delivery_counts(state),
        "github": github_usage(state),
        "llm": llm_usage(state, settings),
        "errors": errors_by_stage(state),
        "replies": replies(state),
        "stage_seconds": stage_seconds(state),
        "completed_at": state.get("completed_at"),
    }
