"""Commit addresses through GraphQL history batches with a token: no `?author=` request, time zones
from the author dates, RATE_LIMITED answers waited out; and the most frequent offset."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.world.snapshot import build_snapshot
from cmo_agent.accounts import is_noreply
from cmo_agent.adapters.github_graphql import HistoryCommit
from cmo_agent.core.config import Settings
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import GitHubStandIn, shift_dates
from cmo_agent.runner import start_campaign
from cmo_agent.stages.enrich import address_from_history, utc_offset_of

GOAL = "Find active ML engineers"
PARAMS = {"query": "archived:false fork:false", "max_repos": 3, "min_score": 0, "email_sources": ["profile", "commit"]}


def _commit(sha: str, date: str, email: str = "a@example.org") -> HistoryCommit:
    return HistoryCommit(sha=sha, url=f"https://github.com/o/r/commit/{sha}", email=email, name="A", date=date)


def test_the_most_frequent_offset_wins_with_its_commits_as_evidence() -> None:
    commits = [
        _commit("1111111aaa", "2026-03-01T10:00:00+05:30"),
        _commit("2222222bbb", "2026-02-01T10:00:00+06:30"),
        _commit("3333333ccc", "2026-01-01T09:00:00+05:30"),
    ]
    offset = utc_offset_of("o/r", commits)
    assert offset == {
        "minutes": 330,
        "seen": 2,
        "of": 3,
        "evidence": ["o/r@1111111 2026-03-01T10:00:00+05:30", "o/r@3333333 2026-01-01T09:00:00+05:30"],
    }
    assert utc_offset_of("o/r", [_commit("1", "2026-03-01T10:00:00-08:00")])["minutes"] == -480  # type: ignore[index]
    assert utc_offset_of("o/r", [_commit("1", "not a date")]) is None


def test_noreply_history_addresses_are_skipped_but_their_offsets_kept() -> None:
    lead = address_from_history(
        "o/r",
        [
            _commit("1111111", "2026-03-01T10:00:00-05:00", "1+a@users.noreply.github.com"),
            _commit("2222222", "2026-02-01T10:00:00-05:00", "a@example.org"),
        ],
    )
    assert lead["email"] == "a@example.org" and lead["provenance"]["via"] == "graphql_history"
    assert lead["provenance"]["sha"] == "2222222" and lead["utc_offset"]["minutes"] == -300
    only_noreply = address_from_history("o/r", [_commit("1", "2026-03-01T10:00:00Z", "x@users.noreply.github.com")])
    assert "email" not in only_noreply and only_noreply["utc_offset"]["minutes"] == 0


@pytest.fixture(scope="module")
def long_tail() -> dict[str, Any]:
    return shift_dates(build_snapshot(repos=5, people=150, seed=7, long_tail=True), datetime.now(UTC))


def _run(tmp_path: Path, github: GitHubStandIn, **env: Any) -> RunState:
    settings = Settings(CMO_DATA_DIR=tmp_path, GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000, **env)
    outcome = start_campaign(settings, GOAL, PARAMS)
    assert outcome.status == "done", outcome.error
    return outcome.state


@pytest.mark.e2e
def test_long_tail_addresses_come_from_graphql_batches_with_offsets(tmp_path: Path, long_tail: dict[str, Any]) -> None:
    with GitHubStandIn(long_tail) as github:
        state = _run(tmp_path, github, GITHUB_TOKEN="test-token")
        author_requests = [r for r in github.requests if r.path.endswith("/commits") and "author" in r.query]
        graphql = github.count(r"^/graphql$")
    assert author_requests == [] and github.count(r"^/users/") == 0
    leads = state["leads"].values()
    found = [lead for lead in leads if lead.get("provenance", {}).get("via") == "graphql_history"]
    assert len(found) >= 5, "the long tail is reached through history lookups"
    assert all(lead["email_source"] == "commit" and not is_noreply(lead["email"] or "") for lead in found)
    # A step's batch is 20 people, a GraphQL query 50 lookups: one profile query and at most one
    # history query per 50 people (and per step that starts a new 50), not per step.
    steps = -(-len(state["candidates"]) // 20)
    assert steps >= 4 and graphql <= 2 * (-(-len(state["candidates"]) // 50) + 1) < 2 * steps
    assert 0 < state["counters"]["github_fetched_ahead"] <= state["counters"]["github_cache_hits"]
    assert state["counters"]["github_api_calls"] == len(github.requests)
    assert state["counters"]["github_graphql_points"] >= graphql
    assert not [e for e in state["errors"] if e["context"].get("fallback") and not e.get("resolved_at")]
    for lead in found:
        offset = lead["utc_offset"]
        assert 1 <= offset["seen"] <= offset["of"] <= 10 and 1 <= len(offset["evidence"]) <= 5
        repo, _, rest = offset["evidence"][0].partition("@")
        sha7, _, date = rest.partition(" ")
        commits = next(r["commits"] for r in long_tail["repos"] if r["full_name"] == repo)
        planted = next(c["tz"] for c in commits if c["sha"].startswith(sha7))
        assert date.endswith(planted)
        assert offset["minutes"] == int(planted[:3]) * 60 + (1 if planted[0] == "+" else -1) * int(planted[4:])


@pytest.mark.e2e
def test_a_graphql_rate_limit_window_is_waited_out_without_falling_back(
    tmp_path: Path, long_tail: dict[str, Any]
) -> None:
    with GitHubStandIn(long_tail) as github:
        github.graphql_rate_limited_until = time.time() + 1.5
        started = time.monotonic()
        state = _run(tmp_path, github, GITHUB_TOKEN="test-token")
        author_requests = [r for r in github.requests if r.path.endswith("/commits") and "author" in r.query]
        assert github.count(r"^/users/") == 0 and author_requests == []
    assert time.monotonic() - started >= 1.0
    assert state["counters"]["github_waits:primary"] >= 1
    assert not [e for e in state["errors"] if e["context"].get("fallback")]
    assert any(lead.get("provenance", {}).get("via") == "graphql_history" for lead in state["leads"].values())


@pytest.mark.e2e
def test_without_a_token_the_long_tail_comes_through_author_filter(tmp_path: Path, long_tail: dict[str, Any]) -> None:
    with GitHubStandIn(long_tail) as github:
        state = _run(tmp_path, github)
        assert github.count(r"^/graphql$") == 0
        author_requests = [r for r in github.requests if r.path.endswith("/commits") and "author" in r.query]
    vias = [lead.get("provenance", {}).get("via") for lead in state["leads"].values()]
    assert "graphql_history" not in vias and vias.count("author_filter") >= 5
    assert len(author_requests) >= vias.count("author_filter")
    assert not any("utc_offset" in lead for lead in state["leads"].values())


@pytest.mark.e2e
def test_with_a_send_window_profile_addresses_get_a_time_zone_too(tmp_path: Path, long_tail: dict[str, Any]) -> None:
    """Profile addresses only (the default): no commit address is looked for, but with
    `CMO_SEND_WINDOW` set every person GraphQL can name gets an offset, in batches of 50."""
    with GitHubStandIn(long_tail) as github:
        settings = Settings(
            CMO_DATA_DIR=tmp_path,
            GITHUB_API_URL=github.url,
            CMO_GITHUB_MAX_PER_MIN=60_000,
            GITHUB_TOKEN="test-token",
            CMO_SEND_WINDOW="Mon-Sun 00:00-24:00",
        )
        outcome = start_campaign(settings, GOAL, {**PARAMS, "email_sources": ["profile"]})
        assert outcome.status == "done", outcome.error
        author_requests = [r for r in github.requests if r.path.endswith("/commits") and "author" in r.query]
        graphql = github.count(r"^/graphql$")
    state = outcome.state
    assert author_requests == []
    assert graphql <= 2 * -(-len(state["candidates"]) // 20)
    with_address = [lead for lead in state["leads"].values() if lead.get("email")]
    assert with_address and all(lead["email_source"] == "profile" for lead in with_address)
    zoned = [lead for lead in with_address if "utc_offset" in lead]
    assert len(zoned) >= 0.8 * len(with_address), (len(zoned), len(with_address))


@pytest.mark.e2e
def test_without_the_cache_each_step_makes_its_own_queries(tmp_path: Path, long_tail: dict[str, Any]) -> None:
    """Answers fetched ahead would be lost without the cache to keep them: no lookahead then."""
    with GitHubStandIn(long_tail) as github:
        state = _run(tmp_path, github, GITHUB_TOKEN="test-token", CMO_GITHUB_CACHE_TTL=0)
        graphql = github.count(r"^/graphql$")
    steps = -(-len(state["candidates"]) // 20)
    assert steps < graphql <= 2 * steps
    assert state["counters"]["github_fetched_ahead"] == 0
    assert any(lead.get("provenance", {}).get("via") == "graphql_history" for lead in state["leads"].values())
