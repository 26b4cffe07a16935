"""Commit histories in GraphQL batches: the query, its answer, and RATE_LIMITED answers waited out."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from cmo_agent.adapters.github import RequestMeter
from cmo_agent.adapters.github_graphql import (
    HistoryLookup,
    commits_from_history,
    fetch_histories,
    history_query,
    rate_limited_answer,
)
from cmo_agent.adapters.github_limits import LimitPolicy
from cmo_agent.demo.github_server import GitHubStandIn, git_timestamp


def test_logins_repositories_and_ids_travel_as_variables() -> None:
    lookups = [HistoryLookup("a", "U_1", 'evil/"repo'), HistoryLookup("b", "U_2", "org/lib")]
    query, variables = history_query(lookups, depth=7)
    assert "evil" not in query and "U_1" not in query and "org" not in query
    assert variables == {"o0": "evil", "n0": '"repo', "a0": "U_1", "o1": "org", "n1": "lib", "a1": "U_2"}
    assert query.count("history(first: 7, author: {id: $a") == 2
    assert "rateLimit { cost remaining resetAt }" in query


def test_a_history_answer_becomes_commits_newest_first() -> None:
    node = {
        "defaultBranchRef": {
            "target": {
                "history": {
                    "nodes": [
                        {"oid": "abc", "url": "u", "author": {"email": "a@x.org", "name": "A", "date": "D1"}},
                        {"oid": "def", "url": "v", "author": {"email": None, "name": "A", "date": "D2"}},
                    ]
                }
            }
        }
    }
    commits = commits_from_history(node)
    assert [c["sha"] for c in commits] == ["abc", "def"] and commits[1]["email"] == ""
    assert commits_from_history({"defaultBranchRef": None}) == []


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (
            {"x-ratelimit-reset": "1700000000"},
            {"errors": [{"type": "RATE_LIMITED"}], "data": {"rateLimit": {"resetAt": "2030-01-01T00:00:00Z"}}},
            (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1893456000"}, "graphql RATE_LIMITED"),
        ),
        (
            {"X-RateLimit-Reset": "1700000000"},
            {"errors": [{"type": "RATE_LIMITED"}]},
            (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000000"}, "graphql RATE_LIMITED"),
        ),
        ({}, {"errors": [{"type": "RATE_LIMITED"}]}, (429, {"retry-after": "60"}, "graphql RATE_LIMITED")),
        (
            {"x-ratelimit-reset": "1700000000"},
            {"errors": [{"type": "RATE_LIMITED"}], "data": {"rateLimit": {"resetAt": "soon"}}},
            (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000000"}, "graphql RATE_LIMITED"),
        ),
        (
            {},
            {"errors": [{"type": "RATE_LIMITED"}], "data": {"rateLimit": {"resetAt": 1700000000}}},
            (429, {"retry-after": "60"}, "graphql RATE_LIMITED"),
        ),
        ({}, {"errors": [{"type": "NOT_FOUND"}], "data": {}}, None),
        ({}, {"data": {"u0": None}}, None),
    ],
)
def test_rate_limited_answers_say_how_long_to_wait(
    headers: dict[str, str], body: dict[str, Any], expected: tuple[int, dict[str, str], str] | None
) -> None:
    assert rate_limited_answer(200, headers, body) == expected


def test_git_timestamps_keep_the_authors_offset() -> None:
    assert git_timestamp("2026-03-01T04:30:00Z", "+05:30") == "2026-03-01T10:00:00+05:30"
    assert git_timestamp("2026-03-01T04:30:00Z", "-08:00") == "2026-02-28T20:30:00-08:00"
    assert git_timestamp("2026-03-01T04:30:00Z", None) == "2026-03-01T04:30:00+00:00"


def _lookups(snapshot: dict[str, Any], n: int) -> list[HistoryLookup]:
    found: list[HistoryLookup] = []
    for repo in snapshot["repos"]:
        for commit in repo["commits"]:
            login = commit["author_login"]
            if login in snapshot["users"] and snapshot["users"][login]["type"] == "User":
                uid = snapshot["users"][login]["id"]
                lookup = HistoryLookup(login, f"U_{uid}", repo["full_name"])
                if lookup not in found and all(f.login != login for f in found):
                    found.append(lookup)
            if len(found) == n:
                return found
    return found


@pytest.mark.e2e
def test_the_stand_in_answers_aliased_histories(demo_snapshot: dict[str, Any]) -> None:
    lookups = [*_lookups(demo_snapshot, 3), HistoryLookup("ghost", "U_1", "nobody/nothing")]
    meter = RequestMeter()
    with GitHubStandIn(demo_snapshot) as github, httpx.Client(headers={"Authorization": "bearer t"}) as client:
        found, points = fetch_histories(client, f"{github.url}/graphql", lookups, meter)
    assert points == 1 and meter.total == 1
    assert found["ghost"] == []
    for lookup in lookups[:3]:
        repo = next(r for r in demo_snapshot["repos"] if r["full_name"] == lookup.repo)
        theirs = [c for c in repo["commits"] if c["author_login"] == lookup.login][:10]
        assert [c["sha"] for c in found[lookup.login]] == [c["sha"] for c in theirs]
        assert all(c["date"][-6] in "+-" and c["date"][-3] == ":" for c in found[lookup.login])


@pytest.mark.e2e
def test_a_rate_limited_answer_is_waited_out_and_sent_again(demo_snapshot: dict[str, Any]) -> None:
    lookups = _lookups(demo_snapshot, 2)
    waits: list[tuple[float, str]] = []
    meter = RequestMeter(LimitPolicy(max_per_minute=60_000), on_wait=lambda s, r: waits.append((s, r)))
    with GitHubStandIn(demo_snapshot) as github, httpx.Client(headers={"Authorization": "bearer t"}) as client:
        github.graphql_rate_limited_until = time.time() + 1.5
        started = time.monotonic()
        found, _ = fetch_histories(client, f"{github.url}/graphql", lookups, meter)
        statuses = [r.status for r in github.requests]
    assert time.monotonic() - started >= 1.0, "it waited for the reset"
    assert waits and {reason for _, reason in waits} == {"primary"} and meter.waits["primary"] == len(waits)
    assert set(found) == {lookup.login for lookup in lookups} and statuses == [200] * len(statuses)
    assert meter.total == len(statuses) == 2, "one RATE_LIMITED answer, then the query again after the reset"
