"""The bundled GitHub snapshot behind `--demo`, served by the loopback stand-in."""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn, shift_dates
from cmo_agent.resources import resource_path

DEMO_SENDER = {
    "sender_name": "Dana Reyes",
    "sender_email": "dana@example.com",
    "postal_address": "Example Labs, 500 Demo Street, Springfield, OR 97477, USA",
}


def load_snapshot() -> dict[str, Any]:
    """The bundled snapshot, its dates moved so that it looks taken just now."""
    raw = json.loads(resource_path("data/demo/github_snapshot.json").read_text(encoding="utf-8"))
    return shift_dates(raw, datetime.now(UTC))


@contextmanager
def demo_settings(settings: Settings) -> Iterator[Settings]:
    """Settings for an offline demo run: GitHub is the stand-in on loopback, no credentials (no
    OpenAI either: the demo's emails come from templates), a demo sender."""
    with GitHubStandIn(load_snapshot()) as stand_in:
        yield demo_overrides(settings, stand_in.url)


def demo_overrides(settings: Settings, github_url: str) -> Settings:
    """`settings` for a demo run against the stand-in serving the snapshot at `github_url`."""
    overrides: dict[str, Any] = {
        "github_api_url": github_url,
        "github_token": None,
        "github_max_per_minute": 60_000,
        # The snapshot's addresses are made up, and the demo promises not to leave the machine.
        "mx_check": False,
        "openai_api_key": None,
    }
    overrides |= {key: value for key, value in DEMO_SENDER.items() if getattr(settings, key) is None}
    return settings.model_copy(update=overrides)


_shared: GitHubStandIn | None = None
_shared_lock = threading.Lock()


def shared_demo_settings(settings: Settings) -> Settings:
    """`demo_settings` for a long-lived process (LangGraph's server): one stand-in, started on the
    first demo run and serving every later one until the process exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = GitHubStandIn(load_snapshot()).start()
            atexit.register(_shared.stop)
        return demo_overrides(settings, _shared.url)
