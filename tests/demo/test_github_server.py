"""The loopback GitHub stand-in answers like GitHub's REST API, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cmo_agent.demo.github_server import Fault, GitHubStandIn

pytestmark = pytest.mark.e2e


def _biggest_repo(snapshot: dict[str, Any]) -> dict[str, Any]:
    return max(snapshot["repos"], key=lambda repo: len(repo["contributors"]))


def test_contributors_paginate_with_link_headers(github: GitHubStandIn, demo_snapshot: dict[str, Any]) -> None:
    repo = _biggest_repo(demo_snapshot)
    assert len(repo["contributors"]) > 100, "the demo snapshot must force pagination"
    url: str | None = f"{github.url}/repos/{repo['full_name']}/contributors?per_page=100"
    logins: list[str] = []
    pages = 0
    with httpx.Client() as client:
        while url:
            response = client.get(url)
            assert response.status_code == 200
            logins += [person["login"] for person in response.json()]
            pages += 1
            url = response.links.get("next", {}).get("url")
    assert pages == 2
    assert logins == [c["login"] for c in repo["contributors"]]


def test_rate_limit_headers_count_down(github: GitHubStandIn) -> None:
    with httpx.Client(base_url=github.url) as client:
        first = client.get("/users/nobody").headers
        second = client.get("/users/nobody").headers
    assert first["x-ratelimit-limit"] == "5000"
    assert int(second["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1
    assert int(second["x-ratelimit-reset"]) > 0 and second["x-ratelimit-resource"] == "core"


def test_users_and_missing_users(github: GitHubStandIn, demo_snapshot: dict[str, Any]) -> None:
    login = next(iter(demo_snapshot["users"]))
    with httpx.Client(base_url=github.url) as client:
        user = client.get(f"/users/{login}").json()
        missing = client.get("/users/no-such-person-here")
    assert user["login"] == login and user["url"] == f"{github.url}/users/{login}"
    assert missing.status_code == 404
    assert github.count(r"^/users/") == 2


def test_search_applies_qualifiers(github: GitHubStandIn, demo_snapshot: dict[str, Any]) -> None:
    with httpx.Client(base_url=github.url) as client:
        body = client.get("/search/repositories", params={"q": "topic:machine-learning archived:false"}).json()
    expected = [r for r in demo_snapshot["repos"] if "machine-learning" in r["topics"] and not r["archived"]]
    assert body["total_count"] == len(expected) > 0
    stars = [item["stargazers_count"] for item in body["items"]]
    assert stars == sorted(stars, reverse=True)


def test_commits_filter_by_author(github: GitHubStandIn, demo_snapshot: dict[str, Any]) -> None:
    repo = _biggest_repo(demo_snapshot)
    author = next(c["author_login"] for c in repo["commits"] if c["author_login"])
    with httpx.Client(base_url=github.url) as client:
        commits = client.get(f"/repos/{repo['full_name']}/commits", params={"author": author}).json()
    assert commits and all(c["author"]["login"] == author for c in commits)
    assert all("@" in c["commit"]["author"]["email"] for c in commits)


def test_faults_answer_the_planted_status(github: GitHubStandIn) -> None:
    github.faults.append(Fault(r"^/users/", 502, times=1))
    with httpx.Client(base_url=github.url) as client:
        assert client.get("/users/anyone").status_code == 502
        assert client.get("/users/anyone").status_code == 404


def test_graphql_batch_answers_partial_data_with_not_found_errors(
    github: GitHubStandIn, demo_snapshot: dict[str, Any]
) -> None:
    login = next(u for u, user in demo_snapshot["users"].items() if user["type"] == "User")
    query = 'query { a: user(login: $x) { login } b: user(login: "no-such-person-here") { login } }'
    with httpx.Client(base_url=github.url) as client:
        anonymous = client.post("/graphql", json={"query": query, "variables": {"x": login}})
        answer = client.post(
            "/graphql", json={"query": query, "variables": {"x": login}}, headers={"Authorization": "bearer t"}
        )
    assert anonymous.status_code == 401
    assert answer.status_code == 200 and answer.headers["x-ratelimit-resource"] == "graphql"
    body = answer.json()
    assert body["data"]["a"]["login"] == login and body["data"]["b"] is None
    assert [(e["type"], e["path"]) for e in body["errors"]] == [("NOT_FOUND", ["b"])]
