"""Stage 6, personalize: one draft per qualified lead, from the lead's own facts and a versioned template."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import TemplateError
from langgraph.runtime import Runtime

from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import utc_now
from cmo_agent.core.state import RunState
from cmo_agent.mail.message import message_id_for, sender_of
from cmo_agent.stages.common import param, report_progress, settings_of
from cmo_agent.templates import PROMPT_VERSION, render


def pending_drafts(state: RunState) -> list[str]:
    """Qualified leads still without a draft, best first, within `max_leads` drafts in all."""
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


def lead_facts(lead: dict[str, Any], repos: dict[str, dict[str, Any]], query: str, sender_name: str) -> dict[str, Any]:
    """What a template may say about a lead: only facts found on GitHub, never free text from the profile."""
    ranked = sorted(lead["repos"], key=lambda name: (-lead["repos"][name], name))
    top = repos.get(ranked[0], {"full_name": ranked[0]})
    name = (lead.get("profile", {}).get("name") or "").strip()
    first = name.split()[0] if name and re.match(r"^[^\W\d_]", name) else lead["login"]
    description = re.split(r"(?<=[.!?])\s", (top.get("description") or "").strip())[0].rstrip(".")
    topics = re.findall(r"topic:(\S+)", query) or list(top.get("topics", []))[:1]
    others = [n.split("/")[1] for n in ranked[1:3]]
    return {
        "first_name": first,
        "repo_full_name": top["full_name"],
        "repo_name": top["full_name"].split("/")[1],
        "repo_description": description[:1].lower() + description[1:120] if description else "",
        "contributions": lead["repos"][ranked[0]],
        "other_repos": " and ".join(others),
        "topic_phrase": topics[0].replace("-", " ") if topics else "open-source",
        "language": top.get("language") or "open-source",
        "sender_name": sender_name,
    }


def personalize(state: RunState, runtime: Runtime[CampaignContext]) -> dict[str, Any]:
    """Draft the next batch; a draft with a missing fact is rejected with its reason, never sent half-filled."""
    settings = settings_of(runtime)
    sender_name, sender_email = sender_of(settings)
    batch = pending_drafts(state)[: settings.batch_size]
    leads = state.get("leads", {})
    drafts: dict[str, dict[str, Any]] = {}
    rejected: dict[str, dict[str, Any]] = {}
    for login in batch:
        lead = leads[login]
        try:
            facts = lead_facts(lead, state.get("repos", {}), state.get("query", ""), sender_name)
            subject = render(f"email/{PROMPT_VERSION}.subject.j2", facts).strip()
            body = render(f"email/{PROMPT_VERSION}.body.j2", facts)
        except (TemplateError, KeyError, IndexError) as exc:
            rejected[login] = {"draft_error": f"{type(exc).__name__}: {exc}"}
            continue
        drafts[login] = {
            "login": login,
            "to": lead["address"],
            "subject": subject,
            "body": body,
            "prompt_version": PROMPT_VERSION,
            "generator": "template",
            "message_id": message_id_for(state["job_id"], login, sender_email),
            "status": "drafted",
            "drafted_at": utc_now(),
        }
    report_progress(
        runtime,
        "personalize",
        len(state.get("to_send", {})) + len(drafts),
        len(state.get("to_send", {})) + len(pending_drafts(state)),
    )
    return {
        "to_send": drafts,
        "leads": rejected,
        "counters": {"drafted": len(drafts), "drafts_rejected": len(rejected)},
    }
