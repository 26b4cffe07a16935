"""Stage 9, follow-up: up to `follow_ups` more messages, each a reply in the first message's thread.

Step n is due `follow_up_after` after step n-1 finished. Until then the job waits: the run drains
with `waiting_until` set (status "waiting"), and `resume` before the due time sends nothing. When a
step is due (the runner has just synced the mailbox, when IMAP is configured) it goes only to leads
whose previous message was delivered, who have not replied, bounced or unsubscribed, and whose
address is not suppressed; auto-replies do not stop a sequence. Drafts are written in batches, then
delivered in batches through the same outbox or SMTP path as the first messages, within the same
send windows (the ledger keys each SMTP message by lead and step, so each goes at most once).

The sequence's position is `reports.follow_ups` (`Sequence`); follow-up drafts are
`RunState.follow_ups`, keyed `login/step`: every lead the step considered has one, drafted (then
delivered) or `stopped` with its `stop_reason`.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict, cast

from jinja2 import TemplateError
from langgraph.runtime import Runtime

from cmo_agent.adapters.llm import LLMError, LLMUnavailable, llm_client_from
from cmo_agent.adapters.llm_prices import with_cost
from cmo_agent.context import CampaignContext
from cmo_agent.core import clock
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import RunStopped, utc_now
from cmo_agent.core.params import DEFAULT_FOLLOW_UP_AFTER, duration_seconds
from cmo_agent.core.records import DELIVERED_STATUSES, PENDING_STATUSES, Draft, Lead, LeadOutcome
from cmo_agent.core.state import RunState
from cmo_agent.core.suppression import open_suppressions
from cmo_agent.drafting.checks import body_problem
from cmo_agent.drafting.facts import lead_pages, model_facts, template_facts
from cmo_agent.drafting.follow_up import (
    FOLLOW_UP_PROMPT,
    FOLLOW_UP_TEMPLATE,
    follow_up_from_template,
    follow_up_subject,
    follow_up_system_prompt,
    follow_up_with_model,
)
from cmo_agent.drafting.model_draft import DraftRejected
from cmo_agent.mail.message import message_id_for, sender_of
from cmo_agent.send_window import active_wait, wait_note
from cmo_agent.stages.common import param, report_progress, run_parallel, settings_of
from cmo_agent.stages.deliver import deliver_batch, in_window

STOPPING_OUTCOMES: frozenset[LeadOutcome] = frozenset(["replied", "bounced", "unsubscribed"])
"""Outcomes that end a lead's sequence (an auto-reply does not)."""


class Sequence(TypedDict, total=False):
    """Where the job's follow-ups stand (`reports.follow_ups`)."""

    steps: int
    step: int
    """The next step to send (1-based); `steps + 1` once all are done."""
    due_at: float
    """When `step` is due (Unix time)."""
    due: str
    """The same, as ISO 8601 UTC."""
    drafted: int
    """The last step whose drafts are all written."""
    finished: dict[str, str]
    """When each step finished, by step number."""


class StepNotDue(RunStopped):
    """The next follow-up is not due yet (raised only where no run control can drain it, e.g. Studio)."""


def follow_up_key(login: str, step: int) -> str:
    return f"{login}/{step}"


def sequence_of(state: RunState) -> Sequence | None:
    found = state.get("reports", {}).get("follow_ups")
    return cast(Sequence, dict(found)) if isinstance(found, dict) else None


def steps_of(state: RunState) -> int:
    return int(param(state, "follow_ups", 0) or 0)


def after_seconds(state: RunState) -> int:
    return duration_seconds(str(param(state, "follow_up_after", DEFAULT_FOLLOW_UP_AFTER)))


def sequence_unfinished(state: RunState) -> list[str]:
    """The graph's loop condition: non-empty while a follow-up step is still to come, or a follow-up
    of an earlier step was put back to be sent (`resume --resend-unknown`)."""
    steps = steps_of(state)
    sequence = sequence_of(state)
    if steps and (sequence is None or sequence["step"] <= steps):
        return ["follow_ups"]
    return resends(state)


def due_at(state: RunState) -> float | None:
    """When the waiting job has work again: the send window its pending messages wait for
    (`reports.send_window`), else its next follow-up step; None when neither is to come."""
    if (wait := active_wait(state)) is not None:
        return wait["due_at"]
    sequence = sequence_of(state)
    if sequence is None or sequence["step"] > steps_of(state):
        return None
    return sequence["due_at"]


def waiting_note(state: RunState) -> str | None:
    """`send window opens <time> for <n> drafts` while the job waits for a send window, `follow-up N of
    M due <time>` while it waits for a step, else None."""
    if (wait := active_wait(state)) is not None:
        return wait_note(wait)
    sequence = sequence_of(state)
    if sequence is None or sequence["step"] > steps_of(state):
        return None
    return f"follow-up {sequence['step']} of {sequence['steps']} due {sequence['due']}"


def previous_message(state: RunState, login: str, step: int) -> Draft | None:
    if step == 1:
        return state.get("to_send", {}).get(login)
    return state.get("follow_ups", {}).get(follow_up_key(login, step - 1))


def stop_reason(state: RunState, login: str, step: int) -> str | None:
    """Why `login` gets no follow-up `step` (None: it does), from the state alone."""
    previous = previous_message(state, login, step)
    if previous is None or previous.get("status") not in DELIVERED_STATUSES:
        return "previous message not delivered"
    outcome = state.get("leads", {}).get(login, Lead()).get("outcome")
    if outcome in STOPPING_OUTCOMES:
        return str(outcome)
    return None


def undrafted(state: RunState, step: int) -> list[str]:
    """Leads still to consider for `step`: the first message's recipients without a `step` record."""
    drafts = state.get("follow_ups", {})
    return sorted(login for login in state.get("to_send", {}) if follow_up_key(login, step) not in drafts)


def resends(state: RunState) -> list[str]:
    """Follow-ups of steps already closed that wait to be sent again (`resume --resend-unknown`)."""
    sequence = sequence_of(state)
    current = sequence["step"] if sequence is not None else 1
    return sorted(
        key
        for key, draft in state.get("follow_ups", {}).items()
        if draft.get("step", 0) < current and draft.get("status") in PENDING_STATUSES
    )


def pending_follow_ups(state: RunState, step: int) -> list[str]:
    return sorted(
        key
        for key, draft in state.get("follow_ups", {}).items()
        if draft.get("step") == step and draft.get("status") in PENDING_STATUSES
    )


def preview_follow_ups(state: RunState, settings: Settings) -> list[dict[str, Any]]:
    """Each follow-up step as the first drafted lead would get it from the template (the approval
    gate shows them; with a model configured, the model writes them when due, checked the same way)."""
    steps = steps_of(state)
    drafts = [d for d in state.get("to_send", {}).values() if d.get("status") == "drafted"]
    if not steps or not drafts:
        return []
    first = drafts[0]
    lead = state.get("leads", {}).get(first["login"])
    if lead is None:
        return []
    sender_name = sender_of(settings)[0]
    facts = template_facts(lead, state.get("repos", {}), state.get("query", ""), sender_name, settings.pitch)
    by_model = settings.openai_api_key is not None and bool(settings.openai_api_key.get_secret_value())
    return [
        {
            "step": step,
            "after": str(param(state, "follow_up_after", DEFAULT_FOLLOW_UP_AFTER)),
            "login": first["login"],
            "subject": follow_up_subject(first["subject"]),
            "body": follow_up_from_template(facts, step, steps),
            "written_by": "the model when due (this is the template it falls back to)" if by_model else "template",
        }
        for step in range(1, steps + 1)
    ]


def _anyone_left(state: RunState, step: int) -> bool:
    """Whether any lead may still get follow-up `step` (its previous email delivered, no reply,
    bounce or unsubscribe yet); when none may, the sequence ends without waiting for it."""
    return any(stop_reason(state, login, step) is None for login in state.get("to_send", {}))


def _wait(runtime: Runtime[CampaignContext], sequence: Sequence) -> None:
    """Drain the run until `sequence`'s step is due (or stop, where nothing can drain it)."""
    reason = f"follow-up {sequence['step']} of {sequence['steps']} due {sequence['due']}"
    context = runtime.context if isinstance(runtime.context, CampaignContext) else None
    if context is None or context.control is None:
        raise StepNotDue(reason)
    context.waiting_until = sequence["due_at"]
    context.control.request_drain(reason)


def _scheduled(sequence: Sequence, step: int, after: int, now: float) -> Sequence:
    due = now + after
    return sequence | Sequence(step=step, due_at=due, due=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(due)))


def follow_up(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """One move of the sequence: schedule it, wait, draft a batch, deliver a batch, or close a step."""
    steps = steps_of(state)
    if not steps:
        return {}
    now = clock.now()
    sequence = sequence_of(state)
    if sequence is None:  # the first messages are out: step 1 is due `follow_up_after` from now
        sequence = _scheduled(Sequence(steps=steps, drafted=0, finished={}), 1, after_seconds(state), now)
        if not _anyone_left(state, 1):
            return {"reports": {"follow_ups": sequence | Sequence(step=steps + 1)}}
        _wait(runtime, sequence)
        return {"reports": {"follow_ups": sequence}}
    if again := resends(state):  # put back by `resume --resend-unknown`: sent before anything else
        return _deliver_batch(state, runtime, again)
    step = sequence["step"]
    if step > steps:
        return {}
    if now < sequence["due_at"]:
        _wait(runtime, sequence)
        return {}
    if sequence.get("drafted", 0) < step:
        return _draft_batch(state, runtime, sequence, step, steps)
    if pending := pending_follow_ups(state, step):
        return _deliver_batch(state, runtime, pending)
    finished = sequence.get("finished", {}) | {str(step): utc_now()}
    sequence = _scheduled(sequence | Sequence(finished=finished), step + 1, after_seconds(state), now)
    if step + 1 <= steps and not _anyone_left(state, step + 1):
        sequence = sequence | Sequence(step=steps + 1)  # nobody to write to: no reason to wait
    if sequence["step"] <= steps:
        _wait(runtime, sequence)
    return {"reports": {"follow_ups": sequence}}


def _draft_batch(
    state: RunState, runtime: Runtime[CampaignContext], sequence: Sequence, step: int, steps: int
) -> RunState:
    """Draft follow-up `step` for the next batch of leads; a lead it must not go to gets a `stopped`
    record with the reason."""
    settings = settings_of(runtime)
    remaining = undrafted(state, step)
    batch = remaining[: settings.batch_size]
    leads = state.get("leads", {})
    stopped: dict[str, Draft] = {}

    def stop(login: str, reason: str) -> None:
        stopped[follow_up_key(login, step)] = Draft(login=login, step=step, status="stopped", stop_reason=reason)

    eligible = []
    for login in batch:
        if reason := stop_reason(state, login, step):
            stop(login, reason)
        else:
            eligible.append(login)
    addresses = {login: str(leads[login].get("address") or "") for login in eligible}
    with open_suppressions(settings) as suppressions:
        listed = suppressions.suppressed([a for a in addresses.values() if a])
    ready = []
    for login in eligible:
        if not addresses[login]:
            stop(login, "no address")
        elif addresses[login] in listed:
            stop(login, "suppressed")
        else:
            ready.append(login)
    drafts, counters = _drafts(state, runtime, ready, step, steps)
    for login in ready:
        if follow_up_key(login, step) not in drafts:
            stop(login, "draft failed its checks")
    total = len(state.get("to_send", {}))
    report_progress(runtime, f"follow-up {step} drafts", total - len(remaining) + len(batch), total)
    update: RunState = {"follow_ups": drafts | stopped, "counters": counters | {"follow_ups_stopped": len(stopped)}}
    if len(batch) == len(remaining):
        update["reports"] = {"follow_ups": sequence | Sequence(drafted=step)}
    return update


def _drafts(
    state: RunState, runtime: Runtime[CampaignContext], logins: list[str], step: int, steps: int
) -> tuple[dict[str, Draft], dict[str, int]]:
    settings = settings_of(runtime)
    sender_name, sender_email = sender_of(settings)
    leads, repos, query = state.get("leads", {}), state.get("repos", {}), state.get("query", "")
    to_send = state.get("to_send", {})
    facts: dict[str, dict[str, Any]] = {}
    for login in logins:
        try:
            facts[login] = template_facts(leads[login], repos, query, sender_name, settings.pitch)
        except (KeyError, IndexError):
            continue
    bodies: dict[str, tuple[str, str]] = {}  # login -> (body, generator)
    fallbacks: dict[str, str] = {}
    counters: dict[str, int] = {}
    client = llm_client_from(settings) if facts else None
    if client is not None:
        system = follow_up_system_prompt(sender_name, settings.pitch or "", settings.sender_website)

        def ask(login: str) -> str | Exception:
            data = model_facts(leads[login], repos, query)
            allowed = [*lead_pages(leads[login]), *([settings.sender_website] if settings.sender_website else [])]
            try:
                return follow_up_with_model(client, system, data, to_send[login], step, steps, sender_email, allowed)
            except (DraftRejected, LLMUnavailable, LLMError) as exc:
                return exc

        with client:
            answers = dict(zip(facts, run_parallel(ask, list(facts), settings.llm_workers), strict=True))
            counters = with_cost(client.counters(), client.model, settings.llm_prices)
        for login, answer in answers.items():
            if isinstance(answer, str):
                bodies[login] = (answer, "llm")
            else:
                fallbacks[login] = f"model draft unusable: {type(answer).__name__}: {answer}"
    drafts: dict[str, Draft] = {}
    for login, lead_facts in facts.items():
        if login not in bodies:
            try:
                body = follow_up_from_template(lead_facts, step, steps)
            except TemplateError:
                continue
            allowed = [*lead_pages(leads[login]), *([settings.sender_website] if settings.sender_website else [])]
            if body_problem(body, sender_email, allowed):
                continue
            bodies[login] = (body, "template")
        body, generator = bodies[login]
        first = to_send[login]
        draft = Draft(
            login=login,
            step=step,
            to=str(leads[login].get("address")),
            subject=follow_up_subject(first["subject"]),
            body=body,
            generator="llm" if generator == "llm" else "template",
            prompt_version=FOLLOW_UP_PROMPT if generator == "llm" else FOLLOW_UP_TEMPLATE,
            message_id=message_id_for(state["job_id"], login, sender_email, step),
            in_reply_to=first["message_id"],
            status="drafted",
            drafted_at=utc_now(),
        )
        if login in fallbacks:
            draft["fallback_reason"] = fallbacks[login]
        drafts[follow_up_key(login, step)] = draft
    counters |= {"follow_ups_drafted": len(drafts)}
    return drafts, counters


def _deliver_batch(state: RunState, runtime: Runtime[CampaignContext], pending: list[str]) -> RunState:
    """Deliver the next batch of `pending` follow-ups whose send window is open, or wait for one to open."""
    drafts = state.get("follow_ups", {})
    due, reports = in_window(state, runtime, pending, drafts, "follow_up")
    if reports.get("send_window"):
        return {"reports": reports}
    updates, counters = deliver_batch(state, runtime, due, drafts, stage="follow-up")
    update = RunState(follow_ups=updates, counters={f"follow_up_{name}": n for name, n in counters.items()})
    return update | (RunState(reports=reports) if reports else {})
