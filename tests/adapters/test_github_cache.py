"""A second campaign over the same people reuses GitHub's answers while they are fresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.runner import start_campaign

pytestmark = pytest.mark.e2e

PARAMS = {"max_repos": 3, "email_sources": ["profile", "commit"]}


@pytest.mark.parametrize("token", [None, "test-token"])
def test_second_campaign_costs_at_most_a_fifth(tmp_path: Path, github: GitHubStandIn, token: str | None) -> None:
    settings = Settings(
        CMO_DATA_DIR=tmp_path / "data", GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000, GITHUB_TOKEN=token
    )
    first = start_campaign(settings, "Find active ML engineers", PARAMS, job_id="first")
    first_requests = len(github.requests)
    github.requests.clear()
    second = start_campaign(settings, "Find active ML engineers", PARAMS, job_id="second")

    assert len(github.requests) <= 0.2 * first_requests
    assert second.state["counters"]["github_api_calls"] == len(github.requests)
    assert second.state["counters"]["github_cache_hits"] >= len(second.state["candidates"])
    decisions = {login: (lead["status"], lead.get("address")) for login, lead in first.state["leads"].items()}
    assert {login: (lead["status"], lead.get("address")) for login, lead in second.state["leads"].items()} == decisions


def test_ttl_zero_turns_the_cache_off(tmp_path: Path, github: GitHubStandIn) -> None:
    settings = Settings(
        CMO_DATA_DIR=tmp_path / "data", GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000, CMO_GITHUB_CACHE_TTL=0
    )
    start_campaign(settings, "Find active ML engineers", PARAMS, job_id="first")
    first_requests = len(github.requests)
    github.requests.clear()
    second = start_campaign(settings, "Find active ML engineers", PARAMS, job_id="second")
    assert len(github.requests) == first_requests
    assert "github_cache_hits" not in second.state["counters"]
