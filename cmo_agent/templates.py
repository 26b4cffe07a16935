"""Email templates from `prompts/`: a sandboxed Jinja environment that refuses undefined variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from cmo_agent.resources import resource_path


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(resource_path("prompts")),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def render(name: str, facts: dict[str, Any]) -> str:
    """Render `prompts/{name}`; raises jinja2.UndefinedError when a fact is missing."""
    return environment().get_template(name).render(**facts)
