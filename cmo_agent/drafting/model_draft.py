"""A draft written by the model: a versioned prompt, the lead's facts as delimited data, a checked answer."""

from __future__ import annotations

import html
import json
from functools import lru_cache
from string import Template
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cmo_agent.adapters.llm import LLMClient
from cmo_agent.core.errors import Rejected
from cmo_agent.drafting.checks import draft_problem
from cmo_agent.resources import resource_path

MODEL_PROMPT_VERSION = "personalize_v1"


class EmailDraft(BaseModel):
    """What the model answers: text for the subject and the body, nothing that becomes a header."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(description="3 to 8 words, one line, specific and honest; never Re:/Fwd:.")
    body: str = Field(description="Plain text, greeting to signature, 60 to 140 words, no footer.")


class DraftRejected(Rejected):
    """The model answered, but its draft failed the checks; `reason` says which."""


@lru_cache(maxsize=4)
def _prompt(version: str) -> Template:
    return Template(resource_path(f"prompts/email/{version}.md").read_text(encoding="utf-8"))


def system_prompt(sender_name: str, pitch: str, sender_website: str | None, version: str = MODEL_PROMPT_VERSION) -> str:
    """The instructions: the operator's own words (sender, pitch, site), never lead data."""
    return _prompt(version).substitute(
        sender_name=sender_name, pitch=pitch, sender_website=sender_website or "no other page"
    )


def facts_message(facts: dict[str, Any]) -> str:
    """The user message: the facts as JSON between delimiters the data cannot close (`<`, `>`, `&` escaped)."""
    data = json.dumps(facts, ensure_ascii=False, indent=1)
    return f"<lead_facts>\n{html.escape(data, quote=False)}\n</lead_facts>"


def draft_with_model(
    client: LLMClient, system: str, facts: dict[str, Any], sender_email: str, allowed: list[str]
) -> EmailDraft:
    """The model's draft for one lead, checked; raises LLMError (no usable answer) or DraftRejected."""
    answer = client.structured(system, facts_message(facts), EmailDraft)
    draft = EmailDraft(subject=answer.subject.strip(), body=answer.body.replace("\r\n", "\n").strip() + "\n")
    if problem := draft_problem(draft.subject, draft.body, sender_email, allowed):
        raise DraftRejected(problem)
    return draft
