"""The run context handed to every node: settings (with secrets) that must never enter state."""

from __future__ import annotations

from dataclasses import dataclass, field

from cmo_agent.core.config import Settings


@dataclass
class CampaignContext:
    """Per-run dependencies. LangGraph passes it to nodes and never checkpoints it.

    When the graph runs without one (LangGraph Studio), nodes read settings from the environment.
    """

    settings: Settings = field(default_factory=Settings)
