"""The GitHub stand-in's fault knobs, seen from a plain HTTP client: held-back, malformed and
rewritten answers, GraphQL errors for chosen people, and users looked up by id."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from cmo_agent.demo.github_server import Fault, GitHubStandIn

pytestmark = pytest.mark.e2e


def _get(github: GitHubStandIn, path: str, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(github.url + path, data=data, headers={"Authorization": "bearer t"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status, answer.read()


def test_a_delayed_fault_answers_late_and_is_logged_when_received(github: GitHubStandIn) -> None:
    github.faults.append(Fault(r"^/users/cheny$", 200, delay=0.3, rewrite=lambda body: body))
    started = time.monotonic()
    status, body = _get(github, "/users/cheny")
    answered = time.monotonic()
    assert answered - started >= 0.3
    assert status == 200 and json.loads(body)["login"] == "cheny"
    assert answered - github.requests[0].at >= 0.3, "logged on arrival, not when the answer left"


def test_raw_and_rewritten_answers(github: GitHubStandIn) -> None:
    github.faults += [
        Fault(r"^/search/", 200, raw=b'{"total_count": 2, "items": ['),
        Fault(r"^/users/cheny$", 200, rewrite=lambda body: {k: v for k, v in body.items() if k != "login"}),
    ]
    assert _get(github, "/search/repositories?q=topic:benchmark") == (200, b'{"total_count": 2, "items": [')
    status, body = _get(github, "/users/cheny")
    profile: dict[str, Any] = json.loads(body)
    assert status == 200 and "login" not in profile and profile["html_url"] == "https://github.com/cheny"
    assert json.loads(_get(github, "/users/cheny")[1])["login"] == "cheny", "each fault is used up"


def test_graphql_failures_null_the_alias_with_the_error_type(github: GitHubStandIn) -> None:
    github.graphql_failures["cheny"] = "FORBIDDEN"
    query = {"query": 'query { a: user(login: "cheny") { login } b: user(login: "faziz") { login } }'}
    status, body = _get(github, "/graphql", json.dumps(query).encode())
    answer = json.loads(body)
    assert status == 200 and answer["data"]["a"] is None and answer["data"]["b"]["login"] == "faziz"
    assert [(e["type"], e["path"]) for e in answer["errors"]] == [("FORBIDDEN", ["a"])]


def test_users_are_found_by_id_as_on_github(github: GitHubStandIn, demo_snapshot: dict[str, Any]) -> None:
    user_id = demo_snapshot["users"]["cheny"]["id"]
    assert json.loads(_get(github, f"/user/{user_id}")[1])["login"] == "cheny"
