"""Stage 4, hygiene: keep only addresses fit to write to, and record why every other one was dropped."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email
from langgraph.runtime import Runtime

from cmo_agent.accounts import is_bot, is_noreply
from cmo_agent.adapters.mx import MxVerdict, mx_checker_from
from cmo_agent.context import CampaignContext
from cmo_agent.core.config import Settings
from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.records import Hygiene, Lead, Profile
from cmo_agent.core.state import RunState
from cmo_agent.core.suppression import identity_entries, open_suppressions
from cmo_agent.stages.common import param, report_progress, run_parallel, settings_of

MX_WORKERS = 8
DAY = 86_400.0
GMAIL_DOMAINS = frozenset(["gmail.com", "googlemail.com"])

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


def person_address_key(address: str) -> str:
    """The address as a key for "is this the same person": lowercased, and for Gmail (whose own rules
    ignore dots and `+tag`s in the local part, and treat googlemail.com as gmail.com) folded to the
    mailbox. Other providers are not folded: `+` and `.` mean different mailboxes at some of them,
    and merging two people would silently drop one of them."""
    local, _, domain = address.lower().rpartition("@")
    if domain in GMAIL_DOMAINS:
        return f"{local.partition('+')[0].replace('.', '')}@gmail.com"
    return f"{local}@{domain}"


def group_people(leads: list[Lead], addresses: Mapping[str, str]) -> list[list[str]]:
    """The logins of `leads` grouped by person, each group in the order of `leads`: leads that share a
    key (GitHub account id, or `person_address_key` of the address in `addresses`) are one person,
    and so are leads linked through a chain of shared keys."""
    parent = {lead["login"]: lead["login"] for lead in leads}

    def root(login: str) -> str:
        while parent[login] != login:
            parent[login] = parent[parent[login]]
            login = parent[login]
        return login

    owner_of: dict[str, str] = {}
    for lead in leads:
        login = lead["login"]
        keys = [f"id:{account}"] if (account := lead.get("profile", Profile()).get("id")) else []
        if address := addresses.get(login):
            keys.append(f"address:{person_address_key(address)}")
        for key in keys:
            if (other := owner_of.setdefault(key, login)) != login:
                parent[root(login)] = root(other)
    groups: dict[str, list[str]] = {}
    for lead in leads:
        groups.setdefault(root(lead["login"]), []).append(lead["login"])
    return list(groups.values())


def hygiene(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Validate and filter every enriched lead's address; one person (several logins sharing an
    address or a GitHub account id) is one lead, the most active login, the others its `aliases`.

    Order of reasons: not enriched, bot, no address, noreply, syntax, role account, then for the whole
    person: suppressed (address, domain, `github:` login or `github-id:` account), recontact (another
    job wrote to them over SMTP within `recontact_days`), same person, then the domain's mail records
    (only where DNS works; "unverified" otherwise). When it runs again (`resume --retry-errors`), a
    lead already drafted is kept first, so no person gets a second first email.
    """
    settings = settings_of(runtime)
    leads = state.get("leads", {})
    drafted = state.get("to_send", {})
    ordered = sorted(
        leads.values(), key=lambda lead: (lead["login"] not in drafted, -lead["contributions"], lead["login"].lower())
    )
    own: dict[str, tuple[str | None, str | None]] = {}
    people: list[Lead] = []
    for lead in ordered:
        login = lead["login"]
        if lead["status"] != "enriched":
            own[login] = None, f"not_enriched:{lead['status']}"
        elif is_bot(login, lead.get("profile", Profile()).get("type")):
            own[login] = None, "bot"
        else:
            email = lead.get("email")
            own[login] = check_address(email) if email else (None, "no_address")
            people.append(lead)  # a person, with or without a usable address (their account id still counts)

    passing = {login: address for login, (address, _) in own.items() if address is not None}
    groups = group_people(people, passing)
    verdicts = _person_verdicts(state, groups, passing, settings)
    checked: dict[str, Lead] = {}
    for login, (normalized, reason) in own.items():
        checked[login] = Lead(hygiene=Hygiene(ok=reason is None, reason=reason), address=normalized)
    for group in groups:
        members = [login for login in group if login in passing]
        if not members:
            continue
        kept, verdict = members[0], verdicts.get(group[0])
        for login in members:
            reason = verdict or (None if login == kept else f"same_person_as:{kept}")
            checked[login] = Lead(
                hygiene=Hygiene(ok=reason is None, reason=reason), address=passing[login] if reason is None else None
            )
        if len(group) > 1:
            checked[kept] |= _merged(kept, group, state)
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


def _merged(kept: str, group: list[str], state: RunState) -> Lead:
    """The kept lead's `aliases`, and its repositories and contributions summed over the whole person
    (from `candidates`, which hygiene never changes, so running again sums the same numbers)."""
    update = Lead(aliases=[login for login in group if login != kept])
    candidates = state.get("candidates", {})
    if all(login in candidates for login in group):
        repos: dict[str, int] = {}
        for login in group:
            for name, count in candidates[login].get("repos", {}).items():
                repos[name] = repos.get(name, 0) + count
        update |= {"repos": repos, "contributions": sum(candidates[login].get("contributions", 0) for login in group)}
    return update


def _person_verdicts(
    state: RunState, groups: list[list[str]], passing: Mapping[str, str], settings: Settings
) -> dict[str, str]:
    """Why a person (by their group's first login) must not be written to: `suppressed:<entry>` or
    `recontact:<job_id>`. Only people with an address that passed are looked up."""
    leads = state.get("leads", {})
    wanted = [group for group in groups if any(login in passing for login in group)]
    accounts = {login: account for group in wanted for login in group if (account := _account(leads[login]))}
    verdicts: dict[str, str] = {}
    with open_suppressions(settings) as suppressions:
        by_address = suppressions.suppressed(passing[login] for group in wanted for login in group if login in passing)
        listed = set(
            suppressions.listed(
                entry for group in wanted for login in group for entry in identity_entries(login, accounts.get(login))
            )
        )
    for group in wanted:
        for login in group:
            address = passing.get(login)
            match = by_address.get(address) if address else None
            match = match or next((e for e in identity_entries(login, accounts.get(login)) if e in listed), None)
            if match:
                verdicts[group[0]] = f"suppressed:{match}"
                break
    days = int(param(state, "recontact_days", settings.recontact_days))
    if days <= 0:
        return verdicts
    pending = [group for group in wanted if group[0] not in verdicts]
    logins = [login for group in pending for login in group]
    with open_ledger(settings) as ledger:
        contacts = ledger.contacted_since(
            state["job_id"],
            time.time() - days * DAY,
            addresses=[passing[login] for login in logins if login in passing],
            logins=logins,
            account_ids=[accounts[login] for login in logins if login in accounts],
        )
    last_job: dict[str, str] = {}
    for contact in reversed(contacts):  # oldest first, so the newest contact wins
        keys = [f"address:{contact.address.lower()}", f"login:{contact.login.lower()}"]
        keys += [f"id:{contact.account_id}"] if contact.account_id is not None else []
        last_job |= dict.fromkeys(keys, contact.job_id)
    for group in pending:
        for login in group:
            keys = [f"login:{login.lower()}"]
            keys += [f"address:{passing[login].lower()}"] if login in passing else []
            keys += [f"id:{accounts[login]}"] if login in accounts else []
            if job := next((last_job[key] for key in keys if key in last_job), None):
                verdicts[group[0]] = f"recontact:{job}"
                break
    return verdicts


def _account(lead: Lead) -> int | None:
    account = lead.get("profile", Profile()).get("id")
    return account if isinstance(account, int) and account > 0 else None


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
