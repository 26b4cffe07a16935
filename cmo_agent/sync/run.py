"""`cmo-agent sync`: read new mail, and put each outcome into the job (and lead) it belongs to.

1. What we sent over SMTP (the ledger, with each draft's subject from its job) is what incoming mail
   can answer. Every job's messages count, so a sync for one job never skips another's mail.
2. New messages in IMAP_FOLDER are classified (`classify`); each outcome of ours is stored, then
   the folder's position moves past it (`store`).
3. Stored outcomes enter their jobs through the graph (`update_state`), under the job's lock, so
   they are checkpointed, exported and in `history`; a hard bounce or an unsubscribe request also
   puts the address on the suppression list at once. A running job is left for the next sync.
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from cmo_agent.core.checkpointer import thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.database import open_database
from cmo_agent.core.errors import JobNotFound
from cmo_agent.core.job_lock import JobBusy, hold_job_lock
from cmo_agent.core.ledger import Ledger
from cmo_agent.core.records import Lead, LeadOutcome
from cmo_agent.core.state import RunState, apply_update
from cmo_agent.core.suppression import SuppressionList
from cmo_agent.core.text import one_line
from cmo_agent.reporting import outcomes
from cmo_agent.sync.classify import Classified, Outbound, Sent, Unparsed, classify, parse
from cmo_agent.sync.mailbox import header_filter, imap_port, open_mailbox, read_new_mail
from cmo_agent.sync.store import Event, SyncStore

SENT_STATES = ("sent", "unknown")
"""Ledger states of messages that may have reached someone (and so may be answered)."""
RANK: dict[LeadOutcome, int] = {"auto_replied": 1, "replied": 2, "bounced": 3, "unsubscribed": 4}
OUTCOME_OF: dict[str, LeadOutcome] = {
    "reply": "replied",
    "auto_reply": "auto_replied",
    "hard_bounce": "bounced",
    "unsubscribe": "unsubscribed",
}


@dataclass
class SyncResult:
    mailbox: str
    new_messages: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    unparsed: list[str] = field(default_factory=list)
    """`uid: reason` for each message that could not be read."""
    applied: dict[str, int] = field(default_factory=dict)
    """Outcomes put into each job."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Jobs whose outcomes wait for the next sync, and why."""
    suppressed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mailbox": self.mailbox,
            "new_messages": self.new_messages,
            "kinds": dict(self.kinds),
            "unparsed": self.unparsed,
            "applied": self.applied,
            "skipped": self.skipped,
            "suppressed": self.suppressed,
        }


def mailbox_name(settings: Settings) -> str:
    """Which folder of which account (never the password)."""
    return f"{settings.imap_username}@{settings.imap_host}:{imap_port(settings)}/{settings.imap_folder}"


def sync(settings: Settings, job_id: str | None = None, held: str | None = None) -> SyncResult:
    """Read new mail and apply the outcomes to `job_id` (or every job); see the module docstring.

    `held` is a job whose lock the caller already holds (a resume syncing before a follow-up step)."""
    from cmo_agent.runner import open_campaigns  # the runner imports the graph; sync's own parts do not

    url = settings.resolved_checkpoint_url()
    with open_campaigns(settings, create=False) as (graph, jobs):
        if job_id is not None and not jobs.exists(job_id):
            raise JobNotFound(f"no job {job_id!r}")
        with open_database(url, create=False) as db:
            store, ledger, suppressions = SyncStore(db), Ledger(db), SuppressionList(db)
            sent = _outbound(ledger, graph)
            result = SyncResult(mailbox_name(settings))
            with open_mailbox(settings) as client:
                _read(client, settings, store, sent, result)
            by_job: dict[str, list[Event]] = {}
            for event in store.pending(job_id):
                by_job.setdefault(event.job_id, []).append(event)
            for target, events in sorted(by_job.items()):
                try:
                    with nullcontext() if target == held else hold_job_lock(url, target, wait=2.0):
                        result.suppressed += _suppress(suppressions, ledger, sent, events)
                        _apply(graph, target, events)
                        store.mark_applied(events)
                        result.applied[target] = len(events)
                except JobBusy:
                    result.skipped[target] = "running; its outcomes go in at the next sync"
    return result


def _outbound(ledger: Ledger, graph: Any) -> Outbound:
    """Every message the ledger says may have reached someone. A job's subjects (from its drafts)
    are read only if a reply without references needs them."""
    from cmo_agent.runner import values_of

    def subjects(job_id: str) -> dict[str, str]:
        drafts = values_of(graph.get_state(thread_config(job_id))).get("to_send", {})
        return {login: str(draft.get("subject", "")) for login, draft in drafts.items()}

    entries = [e for e in ledger.all_entries() if e.state in SENT_STATES]
    return Outbound((Sent(e.job_id, e.login, e.message_id, e.address) for e in entries), subjects)


def _read(client: Any, settings: Settings, store: SyncStore, sent: Outbound, result: SyncResult) -> None:
    name = result.mailbox
    validity, last_uid = store.position(name)
    concerns_us = header_filter(set(sent.by_id), set(sent.by_address))
    current, mail = read_new_mail(client, settings.imap_folder, last_uid, validity, concerns_us)
    result.new_messages = len(mail)
    for item in mail:
        try:
            message = parse(item.raw)  # headers only when they showed it cannot concern us: still checked
            found = classify(message, sent) if item.whole else Classified("unrelated")
        except Unparsed as exc:
            result.unparsed.append(f"{item.uid}: {exc.reason}")
            result.kinds["unparsed"] += 1
            continue
        except Exception as exc:  # any message, however broken, is counted and never stops the sync
            result.unparsed.append(f"{item.uid}: {type(exc).__name__}: {one_line(str(exc))[:200]}")
            result.kinds["unparsed"] += 1
            continue
        result.kinds[found.kind] += 1
        if found.sent is not None:
            store.record(
                Event(
                    name,
                    current,
                    item.uid,
                    found.sent.job_id,
                    found.sent.login,
                    found.kind,
                    found.detail,
                    found.received_at,
                )
            )
    if mail:
        store.advance(name, current, max(item.uid for item in mail))
    elif validity != current:
        store.advance(name, current, 0)


def _suppress(suppressions: SuppressionList, ledger: Ledger, sent: Outbound, events: list[Event]) -> int:
    """Hard bounces and unsubscribe requests put the address on the suppression list, and the person's
    GitHub account too (`github:<login>`, and `github-id:<id>` when the ledger has it), so a new
    address of theirs is suppressed as well. Returns how many people had an entry added."""
    added = 0
    for event in events:
        ours = sent.of(event.job_id, event.login)
        if event.kind in ("hard_bounce", "unsubscribe") and ours is not None:
            reason = "unsubscribe request" if event.kind == "unsubscribe" else f"hard bounce {event.detail}"
            entry = ledger.get(event.job_id, event.login)
            account_id = entry.account_id if entry is not None else None
            source = f"sync:{event.job_id}"
            # One per person newly suppressed (their address, or a new address of theirs, was not yet listed).
            added += bool(suppressions.add_person(ours.address, event.login, account_id, reason=reason, source=source))
    return added


def _apply(graph: Any, job_id: str, events: list[Event]) -> None:
    """The job's leads get their outcomes (the strongest wins) and `reports.outcomes` the counts."""
    from cmo_agent.runner import values_of

    config = thread_config(job_id)
    state = values_of(graph.get_state(config))
    known = state.get("leads", {})
    leads: dict[str, Lead] = {}
    for event in events:
        pending = leads.get(event.login, Lead())
        if event.kind == "soft_bounce":
            leads[event.login] = pending | {"soft_bounce": f"{event.detail} at {event.received_at or 'unknown time'}"}
            continue
        outcome = OUTCOME_OF.get(event.kind)
        if outcome is None:
            continue
        strongest = pending.get("outcome") or known.get(event.login, Lead()).get("outcome")
        if strongest is None or RANK[outcome] >= RANK[strongest]:
            leads[event.login] = pending | {
                "outcome": outcome,
                "outcome_at": event.received_at,
                "outcome_detail": event.detail,
            }
    if not leads:
        return
    after = apply_update(state, RunState(leads=leads))
    graph.update_state(config, RunState(leads=leads, reports={"outcomes": outcomes(after)}))
