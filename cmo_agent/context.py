"""The run context handed to every node: settings (with secrets) that must never enter state."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from langgraph.runtime import RunControl

from cmo_agent.core.config import Settings


@dataclass
class CampaignContext:
    """Per-run dependencies. LangGraph passes it to nodes and never checkpoints it.

    When the graph runs without one (LangGraph Studio), nodes read settings from the environment.
    """

    settings: Settings = field(default_factory=Settings)
    control: RunControl | None = None
    """The run's drain switch: a node that must stop the campaign (SMTP down, daily cap) asks it to drain."""
    failure: str | None = None
    """Set by a stage that failed and drained the run: the run ends `failed`, not `paused`."""
    waiting_until: float | None = None
    """Set by a stage that drained the run to wait for a due time (the next follow-up): the run ends `waiting`."""
    started_at: float = field(default_factory=time.time)
    """When this run (or resume) started: rates that trigger a pause are measured from here."""
