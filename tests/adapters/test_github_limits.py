"""GitHub's limits and failures, planted in the stand-in: the run waits or retries and finishes,
and its request counter equals the number of requests the stand-in received."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.accounts import is_bot
from cmo_agent.adapters.github_limits import LimitPolicy, limit_wait
from cmo_agent.core.config import Settings
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import Fault, GitHubStandIn
from cmo_agent.runner import start_campaign
from tests.conftest import planted_missing, unexpected_errors

GOAL = "Find active ML engineers"


def _run(tmp_path: Path, github: GitHubStandIn, **params: Any) -> RunState:
    settings = Settings(CMO_DATA_DIR=tmp_path / "data", GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000)
    outcome = start_campaign(settings, GOAL, {"max_repos": 2, **params})
    assert outcome.status == "done", outcome.error
    return outcome.state


@pytest.mark.e2e
def test_server_errors_are_retried_and_counted(
    tmp_path: Path, github: GitHubStandIn, demo_snapshot: dict[str, Any]
) -> None:
    github.faults += [Fault(r"^/users/", 502, times=2), Fault(r"/contributors$", 500, times=1)]
    state = _run(tmp_path, github)
    counters = state["counters"]
    assert counters["github_waits:server_error"] == 3
    assert not unexpected_errors(demo_snapshot, state)
    missing = planted_missing(demo_snapshot, state)
    assert all((lead["status"] == "missing") == (login in missing) for login, lead in state["leads"].items())
    assert counters["github_api_calls"] == len(github.requests)


@pytest.mark.e2e
def test_primary_rate_limit_window_waits_until_reset(
    tmp_path: Path, github: GitHubStandIn, demo_snapshot: dict[str, Any]
) -> None:
    reset = int(time.time()) + 2
    github.faults.append(
        Fault(
            r"^/users/",
            403,
            times=3,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
            body={"message": "API rate limit exceeded for 127.0.0.1."},
        )
    )
    started = time.monotonic()
    state = _run(tmp_path, github)
    assert time.monotonic() - started >= 2 - 0.5, "the run waited for the reset"
    assert state["counters"]["github_waits:primary"] >= 1
    assert state["counters"]["github_api_calls"] == len(github.requests)
    assert not unexpected_errors(demo_snapshot, state)


@pytest.mark.e2e
def test_secondary_limit_honours_retry_after(tmp_path: Path, github: GitHubStandIn) -> None:
    github.faults.append(
        Fault(r"^/search/", 429, times=1, headers={"retry-after": "1"}, body={"message": "secondary rate limit"})
    )
    state = _run(tmp_path, github)
    assert state["counters"]["github_waits:secondary"] == 1
    assert state["counters"]["github_requests:/search/repositories"] == github.count(r"^/search/") == 2


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (403, {"Retry-After": "30"}, "", (30.0, "secondary")),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1100"}, "", (101.0, "primary")),
        (403, {}, "You have exceeded a secondary rate limit", (60.0, "secondary")),
        (429, {}, "", (60.0, "secondary")),
        (503, {}, "", (1.0, "server_error")),
        (403, {"x-ratelimit-remaining": "4000"}, "Resource not accessible by integration", None),
        (404, {}, "", None),
        (200, {}, "", None),
    ],
)
def test_limit_decisions(status: int, headers: dict[str, str], body: str, expected: tuple[float, str] | None) -> None:
    assert limit_wait(status, headers, body, attempt=0, policy=LimitPolicy(), now=1000.0) == expected


@pytest.mark.e2e
def test_pagination_limit_422_ends_the_list(
    tmp_path: Path, github: GitHubStandIn, demo_snapshot: dict[str, Any]
) -> None:
    biggest = max(demo_snapshot["repos"], key=lambda r: len(r["contributors"]))
    assert len(biggest["contributors"]) > 100
    github.faults.append(
        Fault(
            rf"^/repos/{biggest['full_name']}/contributors$",
            422,
            times=1000,
            query={"page": "2"},
            body={"message": "Pagination is limited for this resource"},
        )
    )
    settings = Settings(CMO_DATA_DIR=tmp_path / "data", GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000)
    outcome = start_campaign(settings, GOAL, {"query": biggest["name"], "max_repos": 1})
    assert outcome.status == "done", outcome.error
    repo = outcome.state["repos"][biggest["full_name"]]
    assert "contributors_error" not in repo and not unexpected_errors(demo_snapshot, outcome.state)
    first_page = [c["login"] for c in biggest["contributors"][:100]]
    humans = [login for login in first_page if not is_bot(login, demo_snapshot["users"][login]["type"])]
    assert set(outcome.state["candidates"]) == set(humans)
