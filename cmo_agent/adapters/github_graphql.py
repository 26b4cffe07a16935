"""GitHub's GraphQL API in batches: profiles (aliased `user(login:)`) and commit histories (aliased
`repository { defaultBranchRef { target { history(author:) } } }`), up to 50 lookups a query.

GraphQL answers HTTP 200 with partial `data` plus `errors` when a login or repository no longer
exists; the rest of the batch is kept. It also answers HTTP 200 when its points are spent
(`RATE_LIMITED`): that answer is turned into a rate-limit answer here, so the limits machinery
waits for the reset and sends the query again. Requests go through the same limits and meter as REST.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import httpx

from cmo_agent.adapters.github_limits import send_with_limits
from cmo_agent.core.errors import ServiceError
from cmo_agent.core.records import Profile

GRAPHQL_BATCH = 50
HISTORY_DEPTH = 10
"""Commits asked per history lookup: enough author dates to tell a time zone from a stray one, while
a query of 50 lookups still costs one point (GitHub charges per 100 connections asked for)."""
RATE_LIMITED_WAIT = 60
"""Seconds to wait on a RATE_LIMITED answer that says neither `resetAt` nor `x-ratelimit-reset`."""

_FIELDS = (
    "id databaseId login name company websiteUrl location email bio createdAt updatedAt url "
    "followers { totalCount } repositories(privacy: PUBLIC) { totalCount }"
)
_HISTORY_NODES = "nodes { oid url author { email name date user { login } } }"


class GraphQLError(ServiceError):
    """The GraphQL answer carried no usable data."""


@dataclass(frozen=True)
class HistoryLookup:
    """One person's newest commits on one repository, by their account's node id."""

    login: str
    node_id: str
    repo: str
    """`owner/name`."""


class HistoryCommit(TypedDict):
    """A commit of a history lookup; `date` is the author date with the author's UTC offset."""

    sha: str
    url: str
    email: str
    name: str
    date: str


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


def history_query(lookups: Sequence[HistoryLookup], depth: int = HISTORY_DEPTH) -> tuple[str, dict[str, str]]:
    """An aliased query of each lookup's newest `depth` commits on its repository's default branch;
    owners, names and node ids travel as variables, never inside the query text."""
    params = ", ".join(f"$o{i}: String!, $n{i}: String!, $a{i}: ID!" for i in range(len(lookups)))
    fields = " ".join(
        f"h{i}: repository(owner: $o{i}, name: $n{i}) {{ defaultBranchRef {{ target {{ ... on Commit {{ "
        f"history(first: {int(depth)}, author: {{id: $a{i}}}) {{ {_HISTORY_NODES} }} }} }} }} }}"
        for i in range(len(lookups))
    )
    query = f"query Histories({params}) {{ rateLimit {{ cost remaining resetAt }} {fields} }}"
    variables: dict[str, str] = {}
    for i, lookup in enumerate(lookups):
        owner, _, name = lookup.repo.partition("/")
        variables |= {f"o{i}": owner, f"n{i}": name, f"a{i}": lookup.node_id}
    return query, variables


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
        id=node.get("databaseId"),
        node_id=node.get("id"),
    )


def commits_from_history(node: Mapping[str, Any] | None) -> list[HistoryCommit]:
    """The commits of one history alias, newest first (none when the repository has no default branch)."""
    target = ((node or {}).get("defaultBranchRef") or {}).get("target") or {}
    found: list[HistoryCommit] = []
    for commit in (target.get("history") or {}).get("nodes") or []:
        author = commit.get("author") or {}
        found.append(
            HistoryCommit(
                sha=commit["oid"],
                url=commit.get("url") or "",
                email=author.get("email") or "",
                name=author.get("name") or "",
                date=author.get("date") or "",
            )
        )
    return found


def rate_limited_answer(status: int, headers: Mapping[str, str], body: Any) -> tuple[int, dict[str, str], str] | None:
    """A RATE_LIMITED answer (HTTP 200) as the rate-limit answer `github_limits` waits on: spent until
    `rateLimit.resetAt` if the body says, else `x-ratelimit-reset`, else for RATE_LIMITED_WAIT seconds.
    None for any other answer."""
    if status != 200 or not isinstance(body, dict):
        return None
    if not any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in body.get("errors") or []):
        return None
    reset_at = ((body.get("data") or {}).get("rateLimit") or {}).get("resetAt")
    reset = next((v for k, v in headers.items() if k.lower() == "x-ratelimit-reset"), "")
    if isinstance(reset_at, str):
        with contextlib.suppress(ValueError):  # not a time: the header, or the default wait
            reset = str(int(datetime.fromisoformat(reset_at.replace("Z", "+00:00")).timestamp()))
    if reset.isdigit():
        return 429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, "graphql RATE_LIMITED"
    return 429, {"retry-after": str(RATE_LIMITED_WAIT)}, "graphql RATE_LIMITED"


def _describe(answer: httpx.Response) -> tuple[int, Mapping[str, str], str]:
    if answer.status_code == 200 and b"RATE_LIMITED" in answer.content:
        try:
            limited = rate_limited_answer(200, answer.headers, json.loads(answer.content))
        except ValueError:
            limited = None
        if limited is not None:
            return limited
    return answer.status_code, answer.headers, answer.text if answer.status_code >= 400 else ""


def post_query(
    client: httpx.Client, url: str, query: str, variables: Mapping[str, str], meter: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send one query within GitHub's limits; its `data` and `errors`. Raises GraphQLError when the
    answer has no data (a RATE_LIMITED answer is waited out first, as long as the policy allows)."""
    answer = send_with_limits(
        lambda: client.post(url, json={"query": query, "variables": dict(variables)}),
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
    return data, list(body.get("errors") or [])


def _not_found(errors: list[dict[str, Any]]) -> set[str]:
    """Aliases GraphQL said do not exist; raises GraphQLError on any other error."""
    unexplained = [e for e in errors if e.get("type") != "NOT_FOUND"]
    if unexplained:
        raise GraphQLError(f"GraphQL errors: {unexplained[:3]}")
    return {error["path"][0] for error in errors if error.get("path")}


def _cost(data: Mapping[str, Any]) -> int:
    return int((data.get("rateLimit") or {}).get("cost", 1))


def fetch_profiles(
    client: httpx.Client, url: str, logins: Sequence[str], meter: Any
) -> tuple[dict[str, Profile | None], int]:
    """Profiles by login (None for accounts that do not exist) and the GraphQL points spent."""
    query, variables = profiles_query(logins)
    data, errors = post_query(client, url, query, variables, meter)
    missing = _not_found(errors)
    profiles: dict[str, Profile | None] = {}
    for i, login in enumerate(logins):
        node = data.get(f"u{i}")
        if node is None and f"u{i}" not in missing:
            raise GraphQLError(f"GraphQL gave nothing for {login!r} without saying why")
        try:
            profiles[login] = profile_from_graphql(node) if node else None
        except (KeyError, TypeError, AttributeError) as exc:
            raise GraphQLError(f"GraphQL gave a malformed user for {login!r}: {type(exc).__name__}: {exc}") from None
    return profiles, _cost(data)


def fetch_histories(
    client: httpx.Client, url: str, lookups: Sequence[HistoryLookup], meter: Any
) -> tuple[dict[str, list[HistoryCommit]], int]:
    """Each lookup's newest commits by login (none for a repository that no longer exists) and the
    GraphQL points spent."""
    query, variables = history_query(lookups)
    data, errors = post_query(client, url, query, variables, meter)
    missing = _not_found(errors)
    found: dict[str, list[HistoryCommit]] = {}
    for i, lookup in enumerate(lookups):
        node = data.get(f"h{i}")
        if node is None and f"h{i}" not in missing:
            raise GraphQLError(f"GraphQL gave nothing for {lookup.repo!r} without saying why")
        try:
            found[lookup.login] = commits_from_history(node)
        except (KeyError, TypeError, AttributeError) as exc:
            raise GraphQLError(
                f"GraphQL gave a malformed history for {lookup.login!r}: {type(exc).__name__}: {exc}"
            ) from None
    return found, _cost(data)
