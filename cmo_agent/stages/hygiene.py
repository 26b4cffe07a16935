"""Stage 4, hygiene: keep only addresses fit to write to, and record why every other one was dropped."""

from __future__ import annotations

from collections import Counter

from email_validator import EmailNotValidError, validate_email
from langgraph.runtime import Runtime

from cmo_agent.accounts import is_bot, is_noreply
from cmo_agent.adapters.mx import MxVerdict, mx_checker_from
from cmo_agent.context import CampaignContext
from cmo_agent.core.config import Settings
from cmo_agent.core.records import Hygiene, Lead, Profile
from cmo_agent.core.state import RunState
from cmo_agent.core.suppression import open_suppressions
from cmo_agent.stages.common import report_progress, run_parallel, settings_of

MX_WORKERS = 8

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
        # ASCII only: SMTP here speaks no SMTPUTF8, and an international domain is written in its
        # ASCII (punycode) form, so the address on the wire is the one checked.
        validated = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            return None, "invalid_syntax"
        return None, "needs_smtputf8"
    normalized = validated.ascii_email or validated.normalized
    local = normalized.rpartition("@")[0]
    if "=?" in local or "?=" in local:  # RFC 2047 syntax: mail libraries may decode it into other addresses
        return None, "encoded_word"
    if local.lower() in ROLE_LOCAL_PARTS:
        return None, "role_account"
    return normalized, None


def hygiene(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Validate and filter every enriched lead's address; duplicates keep the most active person.

    Order of reasons: not enriched, bot, no address, noreply, syntax, role account, suppressed,
    duplicate, then the domain's mail records (only where DNS works; "unverified" otherwise). When
    it runs again (`resume --retry-errors`), a lead already drafted keeps its address first, so no
    address gets a second first email.
    """
    settings = settings_of(runtime)
    leads = state.get("leads", {})
    drafted = state.get("to_send", {})
    checked: dict[str, Lead] = {}
    owners: dict[str, str] = {}
    ordered = sorted(
        leads.values(), key=lambda lead: (lead["login"] not in drafted, -lead["contributions"], lead["login"].lower())
    )
    addresses = {lead["login"]: check_address(email) for lead in ordered if (email := lead.get("email"))}
    with open_suppressions(settings) as suppressions:
        suppressed = suppressions.suppressed(a for a, _ in addresses.values() if a is not None)
    for lead in ordered:
        login = lead["login"]
        reason: str | None
        normalized: str | None = None
        if lead["status"] != "enriched":
            reason = f"not_enriched:{lead['status']}"
        elif is_bot(login, lead.get("profile", Profile()).get("type")):
            reason = "bot"
        elif login not in addresses:
            reason = "no_address"
        else:
            normalized, reason = addresses[login]
            if normalized is not None and (listed := suppressed.get(normalized)):
                normalized, reason = None, f"suppressed:{listed}"
            elif normalized is not None:
                owner = owners.setdefault(normalized.lower(), login)
                if owner != login:
                    normalized, reason = None, f"duplicate_of:{owner}"
        checked[login] = Lead(hygiene=Hygiene(ok=reason is None, reason=reason), address=normalized)
    counters = _check_domains(checked, settings, runtime)
    report_progress(runtime, "hygiene", len(checked), len(leads))
    reasons: dict[str, int] = {}
    for entry in checked.values():
        key = (entry["hygiene"].get("reason") or "ok").split(":")[0]
        reasons[key] = reasons.get(key, 0) + 1
    mx = Counter(entry["hygiene"]["mx"] for entry in checked.values() if "mx" in entry["hygiene"])
    return {
        "leads": checked,
        "reports": {"hygiene": reasons | {f"mx_{verdict}": n for verdict, n in sorted(mx.items())}},
        "counters": counters | {"addresses_valid": reasons.get("ok", 0)},
    }


def _check_domains(checked: dict[str, Lead], settings: Settings, runtime: Runtime[CampaignContext]) -> dict[str, int]:
    """Look up the mail records of every domain still in play (in parallel); a domain that cannot
    receive mail rejects its addresses, a lookup that cannot be made leaves them "unverified"."""
    checker = mx_checker_from(settings)
    if checker is None:
        return {}
    passing = [(entry, address) for entry in checked.values() if (address := entry.get("address"))]
    domains = sorted({address.rpartition("@")[2].lower() for _, address in passing})
    verdicts = dict(zip(domains, run_parallel(checker.check, domains, MX_WORKERS), strict=True))
    for entry, address in passing:
        verdict = verdicts[address.rpartition("@")[2].lower()]
        entry["hygiene"]["mx"] = str(verdict)
        if verdict in (MxVerdict.NO_DOMAIN, MxVerdict.NO_MAIL):
            entry["hygiene"] |= {"ok": False, "reason": f"no_mail_domain:{verdict}"}
            entry["address"] = None
    return {"dns_queries": checker.counters()["dns_queries"]}
