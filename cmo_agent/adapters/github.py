"""The GitHub adapter: PyGithub pointed at GITHUB_API_URL, with every HTTP request counted.

Nodes use `GitHubGateway`; each worker thread gets its own PyGithub client because a client's
connection object is not safe to share between threads.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import httpx
import requests
from github import Auth, Github, GithubException, UnknownObjectException
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)

from cmo_agent.adapters.github_cache import MISS, GitHubCache
from cmo_agent.adapters.github_graphql import (
    GRAPHQL_BATCH,
    HistoryCommit,
    HistoryLookup,
    fetch_histories,
    fetch_profiles,
    graphql_url,
)
from cmo_agent.adapters.github_limits import LimitPolicy, send_with_limits
from cmo_agent.adapters.github_search import PER_PAGE, SearchLog, search_all
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import MalformedAnswer, ServiceError
from cmo_agent.core.records import Profile, Repo
from cmo_agent.core.usage import track

__all__ = ["GitHubGateway", "GithubException", "ProfileMissing", "RequestMeter", "SearchLog", "metered"]


T = TypeVar("T")


class ProfileMissing(ServiceError):
    """The GitHub account no longer exists (404)."""


_ENDPOINT_PATTERNS = [
    (re.compile(r"/repos/[^/]+/[^/]+/([a-z_]+)$"), r"/repos/{owner}/{repo}/\1"),
    (re.compile(r"/repos/[^/]+/[^/]+$"), "/repos/{owner}/{repo}"),
    (re.compile(r"/users/[^/]+$"), "/users/{login}"),
    (re.compile(r"/user/\d+$"), "/user/{id}"),
    (re.compile(r"/(search/[a-z]+|graphql|rate_limit)$"), r"/\1"),
]


def endpoint_of(url: str) -> str:
    """The endpoint template of a request path, for per-endpoint counters (a GitHub Enterprise
    base path such as /api/v3 is left out, and no login or id ever becomes a counter of its own)."""
    path = urlsplit(url).path.rstrip("/")
    for pattern, template in _ENDPOINT_PATTERNS:
        if match := pattern.search(path):
            return match.expand(template)
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


class RequestMeter:
    """Counts HTTP requests as they are sent (retries included), in total and per endpoint, and the
    waits GitHub's limits imposed; carries the limit policy those requests follow (thread-safe)."""

    def __init__(
        self,
        policy: LimitPolicy | None = None,
        on_wait: Callable[[float, str], None] | None = None,
        stop_requested: Callable[[], bool] | None = None,
    ) -> None:
        self.policy = policy or LimitPolicy()
        self._on_wait = on_wait
        self.stop_requested = stop_requested
        """Whether the run asked to stop: a wait for GitHub's limits then ends at once (WaitInterrupted)."""
        self._lock = threading.Lock()
        self.total = 0
        self.by_endpoint: Counter[str] = Counter()
        self.waits: Counter[str] = Counter()
        self.wait_seconds = 0.0
        self.graphql_points = 0
        self.cache_hits = 0
        track(self)

    def record(self, url: str) -> None:
        with self._lock:
            self.total += 1
            self.by_endpoint[endpoint_of(url)] += 1

    def record_cache_hit(self) -> None:
        with self._lock:
            self.cache_hits += 1

    def record_points(self, points: int) -> None:
        with self._lock:
            self.graphql_points += points

    def record_wait(self, seconds: float, reason: str) -> None:
        with self._lock:
            self.waits[reason] += 1
            self.wait_seconds += seconds
        if self._on_wait is not None:
            self._on_wait(seconds, reason)

    def counters(self) -> dict[str, int]:
        """Counter increments for RunState: requests in total and per endpoint, waits per reason."""
        with self._lock:
            out = {"github_api_calls": self.total}
            out.update({f"github_requests:{ep}": n for ep, n in self.by_endpoint.items()})
            out.update({f"github_waits:{reason}": n for reason, n in self.waits.items()})
            if self.waits:
                out["github_wait_seconds"] = round(self.wait_seconds)
            if self.cache_hits:
                out["github_cache_hits"] = self.cache_hits
            if self.graphql_points:
                out["github_graphql_points"] = self.graphql_points
        return out


_current_meter: ContextVar[RequestMeter | None] = ContextVar("cmo_github_meter", default=None)


@contextmanager
def metered(meter: RequestMeter) -> Iterator[RequestMeter]:
    """Count the GitHub requests made in this context (and in contexts copied from it)."""
    token = _current_meter.set(meter)
    try:
        yield meter
    finally:
        _current_meter.reset(token)


def _describe(answer: RequestsResponse) -> tuple[int, Mapping[str, str], str]:
    return answer.status, answer.headers, answer.read() if answer.status >= 400 else ""


def _send_limited(send: Callable[[], RequestsResponse], url: str) -> RequestsResponse:
    """Every PyGithub request goes through here: counted, paced, retried within GitHub's limits."""
    meter = _meter()
    return send_with_limits(
        send,
        _describe,
        endpoint_of(url),
        meter.policy,
        on_attempt=lambda: meter.record(url),
        on_wait=meter.record_wait,
        transient=(requests.ConnectionError, requests.Timeout),
        stop_requested=meter.stop_requested,
    )


class _LimitedHTTP(HTTPRequestsConnectionClass):
    def getresponse(self) -> RequestsResponse:
        return _send_limited(super().getresponse, self.url)


class _LimitedHTTPS(HTTPSRequestsConnectionClass):
    def getresponse(self) -> RequestsResponse:
        return _send_limited(super().getresponse, self.url)


PERSIST_ATTRIBUTE = "_Requester__persist"
"""PyGithub's private switch for connection reuse, which `injectConnectionClasses` turns off."""
_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Route every PyGithub request through `_send_limited` (counted, paced, retried); idempotent.

    PyGithub offers `Requester.injectConnectionClasses` for this, but it also turns off connection
    reuse (it is meant for test doubles), so keep-alive, which matters for TLS to github.com, is
    turned back on through a private attribute. If a PyGithub release renames it, this fails loudly
    instead of silently opening a connection per request.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        if not hasattr(Requester, PERSIST_ATTRIBUTE):
            raise RuntimeError(f"PyGithub's Requester has no {PERSIST_ATTRIBUTE}: check the pinned PyGithub version")
        Requester.injectConnectionClasses(_LimitedHTTP, _LimitedHTTPS)
        setattr(Requester, PERSIST_ATTRIBUTE, True)
        _installed = True


_THREAD_CLIENTS = threading.local()


def _iso(timestamp: str | None) -> str | None:
    """GitHub's `...Z` timestamps as ISO 8601 with an explicit offset, or None."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).isoformat() if timestamp else None


def _meter() -> RequestMeter:
    """The meter of the current node, or a throwaway one outside any node."""
    return _current_meter.get() or RequestMeter()


class GitHubGateway:
    """GitHub reads the pipeline needs, returned as plain dicts for RunState."""

    def __init__(self, settings: Settings, cache: GitHubCache | None = None) -> None:
        install()
        self._settings = settings
        self._cache = cache
        token = settings.github_token
        # Clients outlive the gateway (one per thread, host and token) so connections are reused.
        self._client_key = (settings.github_api_url.rstrip("/"), token.get_secret_value() if token else "")

    def _cached(self, fetch: Callable[[], T], *key: str) -> T:
        """`fetch()`, or its answer from an earlier job while the cache entry is fresh."""
        if self._cache is None:
            return fetch()
        value = self._cache.get(*key)
        if value is not MISS:
            _meter().record_cache_hit()
            return cast(T, value)
        value = fetch()
        self._cache.put(value, *key)
        return value

    def _client(self, lazy: bool = False) -> Github:
        """This thread's client; `lazy` ones create objects without fetching them (no request)."""
        clients: dict[tuple[str, str, bool], Github] = _THREAD_CLIENTS.__dict__.setdefault("rest", {})
        client = clients.get((*self._client_key, lazy))
        if client is None:
            token = self._settings.github_token
            client = Github(
                auth=Auth.Token(token.get_secret_value()) if token else None,
                base_url=self._settings.github_api_url.rstrip("/"),
                per_page=100,
                timeout=30,
                # Retries, rate-limit waits and pacing belong to this adapter (github_limits), so
                # each attempt is counted and the pace is shared by every client in the process.
                retry=None,
                seconds_between_requests=None,
                seconds_between_writes=None,
                lazy=lazy,
            )
            clients[(*self._client_key, lazy)] = client
        return client

    def _graphql(self) -> httpx.Client:
        clients: dict[tuple[str, str], httpx.Client] = _THREAD_CLIENTS.__dict__.setdefault("graphql", {})
        client = clients.get(self._client_key)
        if client is None:
            token = self._settings.github_token
            assert token is not None
            client = httpx.Client(
                headers={"Authorization": f"bearer {token.get_secret_value()}", "User-Agent": "cmo-agent"},
                timeout=30,
            )
            clients[self._client_key] = client
        return client

    @property
    def has_token(self) -> bool:
        return self._settings.github_token is not None

    @property
    def caches(self) -> bool:
        """Whether answers are kept (`CMO_GITHUB_CACHE_TTL` > 0)."""
        return self._cache is not None

    def is_cached(self, *key: str) -> bool:
        """Whether the cache holds a fresh answer for `key` (e.g. `"profile", login`)."""
        return self._cache is not None and self._cache.get(*key) is not MISS

    def profiles(self, logins: Sequence[str], rest: bool = False) -> dict[str, Profile | None]:
        """Profiles by login, None where the account is gone: GraphQL batches with a token (GraphQL
        needs one), one REST request per person without it or with `rest`."""
        meter = _meter()
        found: dict[str, Profile | None] = {}
        todo = []
        for login in logins:
            cached = self._cache.get("profile", login) if self._cache is not None else MISS
            if cached is MISS:
                todo.append(login)
            else:
                meter.record_cache_hit()
                found[login] = cast(Profile | None, cached)
        if rest or self._settings.github_token is None:
            fetched = {login: self._profile_or_none(login) for login in todo}
        else:
            fetched = {}
            url = graphql_url(self._settings.github_api_url)
            for start in range(0, len(todo), GRAPHQL_BATCH):
                chunk, points = fetch_profiles(self._graphql(), url, todo[start : start + GRAPHQL_BATCH], meter)
                meter.record_points(points)
                fetched |= chunk
        if self._cache is not None:
            for login, profile in fetched.items():
                self._cache.put(profile, "profile", login)
        return found | fetched

    def commit_histories(self, lookups: Sequence[HistoryLookup]) -> dict[str, list[HistoryCommit]]:
        """Each lookup's newest commits on its repository, by login: GraphQL batches of 50 (needs a
        token); answers are cached per repository and person, as `?author=` pages are."""
        meter = _meter()
        found: dict[str, list[HistoryCommit]] = {}
        todo = []
        for lookup in lookups:
            cached = self._cache.get("history", lookup.repo, lookup.login) if self._cache is not None else MISS
            if cached is MISS:
                todo.append(lookup)
            else:
                meter.record_cache_hit()
                found[lookup.login] = cast(list[HistoryCommit], cached)
        url = graphql_url(self._settings.github_api_url)
        for start in range(0, len(todo), GRAPHQL_BATCH):
            chunk = todo[start : start + GRAPHQL_BATCH]
            commits, points = fetch_histories(self._graphql(), url, chunk, meter)
            meter.record_points(points)
            if self._cache is not None:
                for lookup in chunk:
                    self._cache.put(commits[lookup.login], "history", lookup.repo, lookup.login)
            found |= commits
        return found

    def _profile_or_none(self, login: str) -> Profile | None:
        try:
            return self.profile(login)
        except ProfileMissing:
            return None

    def search_repositories(self, query: str, log: SearchLog) -> Iterator[Repo]:
        """Repositories matching `query`, most starred first, past the 1,000-results cap; the
        caller stops iterating when satisfied, and no further page is fetched."""
        requester = self._client().requester

        def fetch(q: str, page: int) -> tuple[int, bool, list[dict[str, Any]]]:
            _, data = requester.requestJsonAndCheck(
                "GET",
                "/search/repositories",
                parameters={"q": q, "sort": "stars", "order": "desc", "per_page": PER_PAGE, "page": page},
            )
            return int(data["total_count"]), bool(data.get("incomplete_results")), list(data["items"])

        for raw in search_all(query, fetch, log):
            yield Repo(
                full_name=raw["full_name"],
                html_url=raw["html_url"],
                description=raw.get("description") or "",
                topics=list(raw.get("topics") or []),
                language=raw.get("language"),
                stars=raw.get("stargazers_count", 0),
                archived=bool(raw.get("archived")),
                fork=bool(raw.get("fork")),
                pushed_at=_iso(raw.get("pushed_at")),
            )

    def contributors(self, full_name: str) -> list[dict[str, Any]]:
        """Every contributor account of a repository (all pages), with type and contribution count."""

        def fetch() -> list[dict[str, Any]]:
            repo = self._client(lazy=True).get_repo(full_name)
            people: list[dict[str, Any]] = []
            try:
                for user in repo.get_contributors():
                    if not isinstance(user.contributions, int):  # checked before the list is cached for a day
                        raise MalformedAnswer(f"{full_name}: a contributor without a contribution count")
                    people.append({"login": user.login, "type": user.type, "contributions": user.contributions})
            except GithubException as exc:
                # GitHub ends some long lists with 422 "pagination is limited": that is the end.
                if exc.status != 422:
                    raise
            return people

        return self._cached(fetch, "contributors", full_name)

    def profile(self, login: str) -> Profile:
        """The public profile of `login`; raises ProfileMissing when the account is gone."""
        try:
            user = self._client().get_user(login)
        except UnknownObjectException as exc:
            raise ProfileMissing(f"GitHub user {login!r} not found") from exc
        return Profile(
            login=user.login,
            name=user.name,
            company=user.company,
            blog=user.blog,
            location=user.location,
            email=user.email,
            bio=user.bio,
            type=user.type,
            followers=user.followers,
            public_repos=user.public_repos,
            html_url=user.html_url,
            api_url=f"/users/{user.login}",
            created_at=user.created_at.isoformat() if user.created_at else None,
            updated_at=user.updated_at.isoformat() if user.updated_at else None,
            id=user.id,
            node_id=user.node_id,
        )

    def recent_commit_authors(self, full_name: str) -> list[dict[str, Any]]:
        """Login-linked author addresses on the repository's latest page of 100 commits, newest first."""
        return self._cached(lambda: self._recent_commit_authors(full_name), "commit_page", full_name)

    def _recent_commit_authors(self, full_name: str) -> list[dict[str, Any]]:
        repo = self._client(lazy=True).get_repo(full_name)
        found = []
        for commit in repo.get_commits().get_page(0):
            person = commit.commit.author
            if commit.author is not None and person is not None and person.email:
                found.append(
                    {"login": commit.author.login, "email": person.email, "sha": commit.sha, "url": commit.html_url}
                )
        return found

    def commit_addresses(self, full_name: str, login: str) -> list[dict[str, Any]]:
        """Author addresses on the first page of `login`'s commits to a repository, newest first."""
        return self._cached(lambda: self._commit_addresses(full_name, login), "author_commits", full_name, login)

    def _commit_addresses(self, full_name: str, login: str) -> list[dict[str, Any]]:
        repo = self._client(lazy=True).get_repo(full_name)
        found = []
        for commit in repo.get_commits(author=login).get_page(0):
            author = commit.commit.author
            if author is not None and author.email:
                found.append({"email": author.email, "sha": commit.sha, "url": commit.html_url})
        return found
