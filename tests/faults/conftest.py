"""What the fault tests share: one small world (two repositories, 24 people), the outcome of a
fault-free run of it, and what a clean stop looks like on the terminal."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.runner import start_campaign

GOAL = "Find active ML engineers"
WORLD: dict[str, Any] = {"max_repos": 2, "query": "topic:benchmark"}
WORLD_ARGS = ["--max-repos", "2", "--query", "topic:benchmark"]
TOKEN = "test-token"

FaultFree = Callable[..., dict[str, Any]]


def world_env(base_env: dict[str, str], github: GitHubStandIn, **extra: str) -> dict[str, str]:
    """The CLI's environment for the small world: the stand-in, batches of five."""
    return base_env | {"GITHUB_API_URL": github.url, "CMO_BATCH_SIZE": "5", **extra}


def settings_from(env: dict[str, str]) -> Settings:
    """The settings the CLI reads from `env`, for reading or resuming its job in-process."""
    return Settings.model_validate(env)


def world_settings(data_dir: Path, github: GitHubStandIn, **extra: Any) -> Settings:
    """In-process settings for the small world (what `world_env` gives the CLI)."""
    return Settings(
        CMO_DATA_DIR=data_dir, GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000, CMO_BATCH_SIZE=5, **extra
    )


def decisions(state: RunState) -> dict[str, tuple[Any, ...]]:
    """What the campaign decided per person: the lead's status, address and score."""
    return {
        login: (lead["status"], lead.get("address"), lead.get("score"))
        for login, lead in state.get("leads", {}).items()
    }


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    """Nothing Python-internal reached the terminal."""
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream and 'File "' not in stream, stream


@pytest.fixture(scope="session")
def fault_free(demo_snapshot: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> FaultFree:
    """`fault_free(token=False)`: the final state of the small world run without any fault, and how
    many requests the stand-in received for it (run once per token setting, then remembered)."""
    outcomes: dict[bool, dict[str, Any]] = {}

    def outcome(token: bool = False) -> dict[str, Any]:
        if token not in outcomes:
            with GitHubStandIn(demo_snapshot) as github:
                extra = {"GITHUB_TOKEN": TOKEN} if token else {}
                settings = world_settings(tmp_path_factory.mktemp("fault-free"), github, **extra)
                result = start_campaign(settings, GOAL, WORLD)
            assert result.status == "done", result.error
            assert not result.state["errors"], "the small world has no planted trap of its own"
            outcomes[token] = {"state": result.state, "requests": len(github.requests)}
        return outcomes[token]

    return outcome
