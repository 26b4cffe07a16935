"""Profiles through GraphQL batches with a token, REST without, and the traps of both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import Fault, GitHubStandIn
from cmo_agent.runner import start_campaign
from tests.conftest import planted_missing, unexpected_errors

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"


def _run(tmp_path: Path, github: GitHubStandIn, name: str, **env: Any) -> RunState:
    settings = Settings(CMO_DATA_DIR=tmp_path / name, GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000, **env)
    outcome = start_campaign(settings, GOAL, {"max_repos": 3})
    assert outcome.status == "done", outcome.error
    return outcome.state


def _decisions(state: RunState) -> dict[str, Any]:
    return {login: (lead["status"], lead.get("address"), lead.get("score")) for login, lead in state["leads"].items()}


def test_graphql_batches_replace_one_request_per_person(tmp_path: Path, github: GitHubStandIn) -> None:
    rest = _run(tmp_path, github, "rest")
    rest_users = github.count(r"^/users/")
    github.requests.clear()

    batched = _run(tmp_path, github, "graphql", GITHUB_TOKEN="test-token", CMO_BATCH_SIZE=50)
    people = len(batched["candidates"])
    assert rest_users == people
    assert github.count(r"^/users/") == 0
    assert github.count(r"^/graphql$") == -(-people // 50)
    assert batched["counters"]["github_api_calls"] == len(github.requests)
    assert batched["counters"]["github_graphql_points"] == github.count(r"^/graphql$")
    assert _decisions(batched) == _decisions(rest)


@pytest.mark.parametrize("token", [{"GITHUB_TOKEN": "test-token"}, {}], ids=["graphql", "rest"])
def test_a_missing_profile_is_an_error_and_the_batch_goes_on(
    tmp_path: Path, github: GitHubStandIn, demo_snapshot: dict[str, Any], token: dict[str, Any]
) -> None:
    gone = demo_snapshot["traps"]["missing_profile"][0]
    repo = next(r for r in demo_snapshot["repos"] if gone in {c["login"] for c in r["contributors"]})
    settings = Settings(CMO_DATA_DIR=tmp_path, GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000, **token)
    outcome = start_campaign(settings, GOAL, {"query": repo["name"], "max_repos": 1})
    assert outcome.status == "done", outcome.error
    state = outcome.state
    assert state["leads"][gone]["status"] == "missing"
    assert [e["item"] for e in state["errors"]] == [gone]
    assert sum(1 for lead in state["leads"].values() if lead["status"] == "enriched") == len(state["leads"]) - 1


def test_graphql_outage_falls_back_to_rest(
    tmp_path: Path, github: GitHubStandIn, demo_snapshot: dict[str, Any]
) -> None:
    github.faults.append(Fault(r"^/graphql$", 502, times=1000))
    state = _run(tmp_path, github, "fallback", GITHUB_TOKEN="test-token", CMO_GITHUB_MAX_RETRIES=0)
    missing = planted_missing(demo_snapshot, state)
    assert all((lead["status"] == "missing") == (login in missing) for login, lead in state["leads"].items())
    assert github.count(r"^/users/") == len(state["candidates"])
    surprises = unexpected_errors(demo_snapshot, state)
    assert surprises and all(e["context"].get("fallback") == "rest" for e in surprises)
    assert state["counters"]["github_api_calls"] == len(github.requests)


def test_without_a_token_commit_addresses_come_from_pages_then_author_filter(
    tmp_path: Path, github: GitHubStandIn
) -> None:
    settings = Settings(CMO_DATA_DIR=tmp_path / "commits", GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000)
    outcome = start_campaign(settings, GOAL, {"max_repos": 3, "email_sources": ["profile", "commit"]})
    assert outcome.status == "done", outcome.error
    leads = outcome.state["leads"].values()
    from_pages = [lead for lead in leads if lead.get("provenance", {}).get("via") == "commit_page"]
    from_filter = [lead for lead in leads if lead.get("provenance", {}).get("via") == "author_filter"]
    assert from_pages, "the demo snapshot has people whose only address is in recent commits"
    found = from_pages + from_filter
    assert all(lead["email_source"] == "commit" and "noreply" not in (lead["email"] or "") for lead in found)
    # One page per repository, then `?author=` only for people still without an address; no GraphQL.
    page_requests = [r for r in github.requests if r.path.endswith("/commits") and "author" not in r.query]
    author_requests = [r for r in github.requests if r.path.endswith("/commits") and "author" in r.query]
    assert len(page_requests) == 3 and github.count(r"^/graphql$") == 0
    still_missing = [
        lead
        for lead in leads
        if lead["status"] == "enriched"
        and not lead["profile"]["email"]
        and lead.get("provenance", {}).get("via") != "commit_page"
    ]
    assert len(author_requests) == len(still_missing)
    assert outcome.state["counters"]["github_api_calls"] == len(github.requests)
