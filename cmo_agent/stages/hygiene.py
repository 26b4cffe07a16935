"""Stage 4, hygiene: keep only addresses fit to write to, and record why every other one was dropped."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from langgraph.runtime import Runtime

from cmo_agent.accounts import is_bot, is_noreply
from cmo_agent.context import CampaignContext
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import report_progress

ROLE_LOCAL_PARTS = frozenset(
    [
        "abuse",
        "admin",
        "administrator",
        "billing",
        "contact",
        "dev",
        "devnull",
        "do-not-reply",
        "donotreply",
        "enquiries",
        "feedback",
        "hello",
        "help",
        "hostmaster",
        "info",
        "jobs",
        "legal",
        "mail",
        "mailer-daemon",
        "marketing",
        "media",
        "no-reply",
        "noreply",
        "office",
        "postmaster",
        "press",
        "privacy",
        "root",
        "sales",
        "security",
        "service",
        "support",
        "team",
        "webmaster",
    ]
)


def check_address(address: str) -> tuple[str | None, str | None]:
    """(normalized address, None) when fit to write to, else (None, reason)."""
    if is_noreply(address):
        return None, "noreply"
    try:
        normalized = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None, "invalid_syntax"
    if normalized.rpartition("@")[0].lower() in ROLE_LOCAL_PARTS:
        return None, "role_account"
    return normalized, None


def hygiene(state: RunState, runtime: Runtime[CampaignContext]) -> dict[str, Any]:
    """Validate and filter every enriched lead's address; duplicates keep the most active person."""
    leads = state.get("leads", {})
    checked: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    ordered = sorted(leads.values(), key=lambda lead: (-lead["contributions"], lead["login"].lower()))
    for lead in ordered:
        login = lead["login"]
        profile = lead.get("profile", {})
        reason: str | None
        normalized: str | None = None
        if lead["status"] != "enriched":
            reason = f"not_enriched:{lead['status']}"
        elif is_bot(login, profile.get("type")):
            reason = "bot"
        elif not lead.get("email"):
            reason = "no_address"
        else:
            normalized, reason = check_address(lead["email"])
            if normalized is not None:
                owner = owners.setdefault(normalized.lower(), login)
                if owner != login:
                    normalized, reason = None, f"duplicate_of:{owner}"
        checked[login] = {"hygiene": {"ok": reason is None, "reason": reason}, "address": normalized}
    report_progress(runtime, "hygiene", len(checked), len(leads))
    reasons: dict[str, int] = {}
    for entry in checked.values():
        key = (entry["hygiene"]["reason"] or "ok").split(":")[0]
        reasons[key] = reasons.get(key, 0) + 1
    return {
        "leads": checked,
        "reports": {"hygiene": reasons},
        "counters": {"addresses_valid": reasons.get("ok", 0)},
    }
