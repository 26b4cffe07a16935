"""Stage 6, personalize: one draft per qualified lead, by the model when configured (checked, with the
template as the fallback) or from the versioned templates, always from the lead's own facts."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError
from langgraph.runtime import Runtime

from cmo_agent.adapters.llm import LLMClient, LLMError, LLMUnavailable, llm_client_from
from cmo_agent.adapters.llm_prices import with_cost
from cmo_agent.context import CampaignContext
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import utc_now
from cmo_agent.core.records import Draft, Lead, Personalization
from cmo_agent.core.state import RunState
from cmo_agent.drafting.checks import draft_problem
from cmo_agent.drafting.facts import allowed_links, lead_pages, model_facts, template_facts
from cmo_agent.drafting.model_draft import MODEL_PROMPT_VERSION, DraftRejected, EmailDraft, draft_with_model
from cmo_agent.drafting.model_draft import system_prompt as model_system_prompt
from cmo_agent.drafting.template_draft import TEMPLATE_VERSION, draft_from_template
from cmo_agent.mail.message import message_id_for, sender_of
from cmo_agent.stages.common import param, report_progress, run_parallel, settings_of


def pending_drafts(state: RunState) -> list[str]:
    """Qualified leads still without a draft, best first, within `max_leads` drafts in all.

    A lead with a draft in state is never drafted again (resume and replay keep what was written).
    """
    to_send = state.get("to_send", {})
    ready = [
        lead
        for login, lead in state.get("leads", {}).items()
        if lead.get("qualified")
        and lead.get("hygiene", {}).get("ok")
        and login not in to_send
        and "draft_error" not in lead
    ]
    ready.sort(key=lambda lead: (-lead["score"], lead["login"].lower()))
    max_leads = param(state, "max_leads", None)
    room = len(ready) if max_leads is None else max(int(max_leads) - len(to_send), 0)
    return [lead["login"] for lead in ready[:room]]


def _model_drafts(
    client: LLMClient,
    settings: Settings,
    facts: dict[str, dict[str, Any]],
    state: RunState,
) -> dict[str, EmailDraft | str]:
    """Each lead's checked model draft, or the reason the template must be used instead."""
    sender_name, sender_email = sender_of(settings)
    leads, repos, query = state.get("leads", {}), state.get("repos", {}), state.get("query", "")
    prompt_version = str(param(state, "prompt", MODEL_PROMPT_VERSION))

    def ask(login: str) -> EmailDraft | str:
        data = model_facts(leads[login], repos, query)
        system = model_system_prompt(sender_name, facts[login]["pitch"], settings.sender_website, prompt_version)
        try:
            return draft_with_model(client, system, data, sender_email, allowed_links(data, settings.sender_website))
        except DraftRejected as exc:
            return f"model draft rejected: {exc.reason}"
        except LLMUnavailable as exc:
            return f"model unavailable: {exc}"
        except LLMError as exc:
            return f"model answer unusable: {exc}"

    logins = list(facts)
    return dict(zip(logins, run_parallel(ask, logins, settings.llm_workers), strict=True))


def personalize(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Draft the next batch. A draft with a missing fact is rejected with its reason, never sent half-filled;
    a model draft that fails its checks is replaced by the template's, with the reason on the lead."""
    settings = settings_of(runtime)
    sender_name, sender_email = sender_of(settings)
    batch = pending_drafts(state)[: settings.batch_size]
    leads, repos, query = state.get("leads", {}), state.get("repos", {}), state.get("query", "")
    lead_updates: dict[str, Lead] = {}
    facts: dict[str, dict[str, Any]] = {}
    for login in batch:
        try:
            facts[login] = template_facts(leads[login], repos, query, sender_name, settings.pitch)
        except (KeyError, IndexError) as exc:
            lead_updates[login] = Lead(draft_error=f"missing fact: {type(exc).__name__}: {exc}")

    template_version = str(param(state, "template", TEMPLATE_VERSION))
    answers: dict[str, EmailDraft | str] = {}
    counters: dict[str, int] = {}
    client = llm_client_from(settings) if facts else None
    if client is not None:
        with client:
            answers = _model_drafts(client, settings, facts, state)
            counters = with_cost(client.counters(), client.model, settings.llm_prices)

    drafts: dict[str, Draft] = {}
    for login, lead_facts in facts.items():
        address = leads[login].get("address")
        if address is None:  # pending_drafts takes only leads whose address passed hygiene
            lead_updates[login] = Lead(draft_error="no address that passed hygiene")
            continue
        answer = answers.get(login)
        draft: Draft
        if isinstance(answer, EmailDraft):
            draft = Draft(subject=answer.subject, body=answer.body, generator="llm")
            draft |= {"prompt_version": param(state, "prompt", MODEL_PROMPT_VERSION)}
            draft |= {"model": client.model if client else None}
        else:
            try:
                subject, body = draft_from_template(lead_facts, template_version)
            except TemplateError as exc:
                lead_updates[login] = Lead(draft_error=f"{type(exc).__name__}: {exc}")
                continue
            # The template's draft passes the same checks as the model's; one that fails is not sent.
            allowed = [*lead_pages(leads[login]), *([settings.sender_website] if settings.sender_website else [])]
            if problem := draft_problem(subject, body, sender_email, allowed):
                lead_updates[login] = Lead(draft_error=f"template draft failed its checks: {problem}")
                continue
            draft = Draft(subject=subject, body=body, generator="template", prompt_version=template_version)
            if omitted := lead_facts.get("omitted_facts"):
                draft["omitted_facts"] = omitted
            if answer is not None:
                draft["fallback_reason"] = answer
        how = Personalization(generator=draft.get("generator"), fallback_reason=draft.get("fallback_reason"))
        lead_updates[login] = Lead(personalization=how)
        drafts[login] = draft | {
            "login": login,
            "to": address,
            "message_id": message_id_for(state["job_id"], login, sender_email),
            "status": "drafted",
            "drafted_at": utc_now(),
        }
    done = len(state.get("to_send", {})) + len(drafts)
    report_progress(runtime, "personalize", done, len(state.get("to_send", {})) + len(pending_drafts(state)))
    by_model = sum(1 for d in drafts.values() if d["generator"] == "llm")
    fallbacks = sum(1 for d in drafts.values() if "fallback_reason" in d)
    return {
        "to_send": drafts,
        "leads": lead_updates,
        "counters": counters
        | {
            "drafted": len(drafts),
            "drafted_by_model": by_model,
            "drafted_by_template": len(drafts) - by_model,
            "model_fallbacks": fallbacks,
            "drafts_rejected": sum(1 for update in lead_updates.values() if "draft_error" in update),
        },
    }
