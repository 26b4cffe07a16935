"""Follow-up drafts: the same facts and checks as a first email, threaded under it.

The subject is always `Re: ` and the first message's (already checked) subject; the body comes from
the model when configured (checked, the template's otherwise) or from the versioned template.
"""

from __future__ import annotations

import re
from functools import lru_cache
from string import Template
from typing import Any

from cmo_agent.adapters.llm import LLMClient
from cmo_agent.core.records import Draft
from cmo_agent.drafting.checks import body_problem
from cmo_agent.drafting.model_draft import DraftRejected, EmailDraft, facts_message
from cmo_agent.resources import resource_path
from cmo_agent.templates import render

FOLLOW_UP_TEMPLATE = "follow_up_v1"
FOLLOW_UP_PROMPT = "follow_up_v1"
_REPLY_PREFIX = re.compile(r"^\s*re\s*:\s*", re.IGNORECASE)


def follow_up_subject(first_subject: str) -> str:
    """`Re: ` and the first message's subject (never `Re: Re: `)."""
    return "Re: " + _REPLY_PREFIX.sub("", first_subject.strip())


def follow_up_from_template(facts: dict[str, Any], step: int, steps: int) -> str:
    """The template's body for follow-up `step` of `steps`; jinja2's UndefinedError when a fact is missing."""
    return render(f"email/{FOLLOW_UP_TEMPLATE}.body.j2", facts | {"step": step, "steps": steps})


@lru_cache(maxsize=2)
def _prompt() -> Template:
    return Template(resource_path(f"prompts/email/{FOLLOW_UP_PROMPT}.md").read_text(encoding="utf-8"))


def follow_up_system_prompt(sender_name: str, pitch: str, sender_website: str | None) -> str:
    """The follow-up instructions: the operator's own words only, never lead data."""
    return _prompt().substitute(sender_name=sender_name, pitch=pitch, sender_website=sender_website or "no other page")


def follow_up_with_model(
    client: LLMClient,
    system: str,
    facts: dict[str, Any],
    first: Draft,
    step: int,
    steps: int,
    sender_email: str,
    allowed: list[str],
) -> str:
    """The model's checked body for one follow-up; LLMError (no usable answer) or DraftRejected."""
    data = facts | {
        "step": step,
        "steps": steps,
        "first_message": {"subject": first.get("subject", ""), "body": first.get("body", "")},
    }
    answer = client.structured(system, facts_message(data), EmailDraft)
    body = answer.body.replace("\r\n", "\n").strip() + "\n"
    if problem := body_problem(body, sender_email, allowed):
        raise DraftRejected(problem)
    return body
