"""A draft from the versioned email templates, filled with the lead's GitHub facts."""

from __future__ import annotations

from typing import Any

from cmo_agent.templates import render

TEMPLATE_VERSION = "intro_v2"


def draft_from_template(facts: dict[str, Any], version: str = TEMPLATE_VERSION) -> tuple[str, str]:
    """(subject, body); raises jinja2's UndefinedError when a fact is missing, so nothing half-filled goes out."""
    # The subject names the repository only when its name cannot read as a link (see template_facts).
    subject_facts = facts | ({"repo_name": facts["subject_repo_name"]} if "subject_repo_name" in facts else {})
    subject = render(f"email/{version}.subject.j2", subject_facts).strip()
    body = render(f"email/{version}.body.j2", facts)
    return subject, body
