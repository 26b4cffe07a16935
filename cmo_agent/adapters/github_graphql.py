"""Profiles in batches through GitHub's GraphQL API: one aliased `user(login:)` query for up to 50 people.

GraphQL answers HTTP 200 with partial `data` plus `errors` when a login no longer exists; the rest of
the batch is kept. Requests go through the same limits and meter as REST.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from cmo_agent.adapters.github_limits import send_with_limits
from cmo_agent.core.errors import ServiceError
from cmo_agent.core.records import Profile

GRAPHQL_BATCH = 50

_FIELDS = (
    "login name company websiteUrl location email bio createdAt updatedAt url "
    "followers { totalCount } repositories(privacy: PUBLIC) { totalCount }"
)


class GraphQLError(ServiceError):
    """The GraphQL answer carried no usable data."""


def graphql_url(rest_url: str) -> str:
    """GitHub's GraphQL endpoint beside a REST base URL (github.com, Enterprise `/api/v3`, or a stand-in)."""
    base = rest_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base.removesuffix("/v3") + "/graphql"
    return base + "/graphql"


def profiles_query(logins: Sequence[str]) -> tuple[str, dict[str, str]]:
    """An aliased query for `logins`; logins travel as variables, never inside the query text."""
    params = ", ".join(f"$l{i}: String!" for i in range(len(logins)))
    fields = " ".join(f"u{i}: user(login: $l{i}) {{ {_FIELDS} }}" for i in range(len(logins)))
    query = f"query Profiles({params}) {{ rateLimit {{ cost remaining resetAt }} {fields} }}"
    return query, {f"l{i}": login for i, login in enumerate(logins)}


def profile_from_graphql(node: Mapping[str, Any]) -> Profile:
    """A GraphQL user in the same shape as the REST profile (GraphQL says "" for no public email)."""
    return Profile(
        login=node["login"],
        name=node.get("name") or None,
        company=node.get("company") or None,
        blog=node.get("websiteUrl") or None,
        location=node.get("location") or None,
        email=node.get("email") or None,
        bio=node.get("bio") or None,
        type="User",
        followers=(node.get("followers") or {}).get("totalCount", 0),
        public_repos=(node.get("repositories") or {}).get("totalCount", 0),
        html_url=node.get("url"),
        api_url=f"/users/{node['login']}",
        created_at=node.get("createdAt"),
        updated_at=node.get("updatedAt"),
    )


def _describe(answer: httpx.Response) -> tuple[int, Mapping[str, str], str]:
    return answer.status_code, answer.headers, answer.text if answer.status_code >= 400 else ""


def fetch_profiles(
    client: httpx.Client, url: str, logins: Sequence[str], meter: Any
) -> tuple[dict[str, Profile | None], int]:
    """Profiles by login (None for accounts that do not exist) and the GraphQL points spent."""
    query, variables = profiles_query(logins)
    answer = send_with_limits(
        lambda: client.post(url, json={"query": query, "variables": variables}),
        _describe,
        "/graphql",
        meter.policy,
        on_attempt=lambda: meter.record(url),
        on_wait=meter.record_wait,
        transient=(httpx.TransportError,),
        stop_requested=meter.stop_requested,
    )
    answer.raise_for_status()
    try:
        body = answer.json()
    except ValueError:
        raise GraphQLError(f"GraphQL answered with something that is not JSON: {answer.text[:80]!r}") from None
    if not isinstance(body, dict):
        raise GraphQLError("GraphQL answered with JSON that is not an object")
    data = body.get("data")
    if not isinstance(data, dict):
        raise GraphQLError(f"GraphQL answered without data: {body.get('errors')}")
    missing = {
        error["path"][0] for error in body.get("errors") or [] if error.get("type") == "NOT_FOUND" and error.get("path")
    }
    unexplained = [e for e in body.get("errors") or [] if e.get("type") != "NOT_FOUND"]
    if unexplained:
        raise GraphQLError(f"GraphQL errors: {unexplained[:3]}")
    profiles: dict[str, Profile | None] = {}
    for i, login in enumerate(logins):
        node = data.get(f"u{i}")
        if node is None and f"u{i}" not in missing:
            raise GraphQLError(f"GraphQL gave nothing for {login!r} without saying why")
        try:
            profiles[login] = profile_from_graphql(node) if node else None
        except (KeyError, TypeError, AttributeError) as exc:
            raise GraphQLError(f"GraphQL gave a malformed user for {login!r}: {type(exc).__name__}: {exc}") from None
    return profiles, int((data.get("rateLimit") or {}).get("cost", 1))
