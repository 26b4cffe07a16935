"""A GitHub REST stand-in on loopback, serving a snapshot: the demo's GitHub and the tests'.

It speaks real HTTP with GitHub's shapes (search, repositories, contributors and commits with
`Link` pagination, users, rate-limit headers) and logs every request it receives.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

Snapshot = dict[str, Any]
SEARCH_CAP = 1000
"""GitHub's search shows at most this many results of one query."""


@dataclass(frozen=True)
class _Planted:
    """A faulted answer's exact body, and how long to hold it back."""

    payload: bytes
    delay: float


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    authorized: bool
    at: float
    """time.monotonic() when the answer was ready."""


@dataclass
class Fault:
    """Answer `status` (with `headers` and `body`) to the next `times` requests whose path matches
    (and whose query has every item of `query`).

    `raw` is sent as the body instead of JSON (a malformed or cut-off answer); `rewrite` keeps the
    usual answer (its status and headers too) and passes its JSON through a function (an answer
    missing fields); `delay` holds the answer back that many seconds (a request that times out).
    """

    path_pattern: str
    status: int
    times: int = 1
    headers: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    query: dict[str, str] | None = None
    delay: float = 0.0
    raw: bytes | None = None
    rewrite: Callable[[Any], Any] | None = None

    def applies(self, path: str, query: dict[str, str]) -> bool:
        wanted = (self.query or {}).items()
        return self.times > 0 and bool(re.search(self.path_pattern, path)) and all(query.get(k) == v for k, v in wanted)


class GitHubStandIn:
    """Serves `snapshot` on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(self, snapshot: Snapshot, *, latency: float = 0.0, port: int = 0) -> None:
        self.snapshot = snapshot
        self.latency = latency
        self._repos = {repo["full_name"].lower(): repo for repo in snapshot["repos"]}
        self._users = {login.lower(): user for login, user in snapshot["users"].items()}
        self._user_ids = {str(user["id"]): user for user in snapshot["users"].values()}
        self._lock = threading.Lock()
        self.requests: list[ReceivedRequest] = []
        self.faults: list[Fault] = []
        self.graphql_failures: dict[str, str] = {}
        """Lowercased login → the GraphQL error type (e.g. FORBIDDEN) its alias gets, with null data."""
        # GitHub's budgets per resource: (requests, window in seconds). Spent budgets answer 403.
        self.limits: dict[str, tuple[int, float]] = {"core": (5000, 3600), "search": (30, 60), "graphql": (5000, 3600)}
        self._windows: dict[str, tuple[float, int]] = {}
        self.graphql_rate_limited_until = 0.0
        """Until this Unix time, every GraphQL query is answered RATE_LIMITED (HTTP 200), as when its points
        are spent; the headers say the budget resets then."""
        self.search_cap = SEARCH_CAP
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GitHubStandIn:
        # A short poll keeps stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="github-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GitHubStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, path_regex: str = ".*") -> int:
        """How many requests were received on paths matching `path_regex`."""
        pattern = re.compile(path_regex)
        with self._lock:
            return sum(1 for r in self.requests if pattern.search(r.path))

    # --- routing -------------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, authorized: bool, payload: bytes = b""
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(raw_path)
        path = unquote(parts.path).rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        resource = _resource_of(path)
        limit, used, reset = self._charge(resource, free=path == "/rate_limit")
        status: int
        headers: dict[str, str]
        body: Any
        fault = None if used > limit else self._take_fault(path, query)
        if resource == "graphql" and (used > limit or time.time() < self.graphql_rate_limited_until):
            # GraphQL says so with HTTP 200 and an error of type RATE_LIMITED, not with a 403.
            status, headers, body = 200, {}, {"errors": [_RATE_LIMITED]}
            if used <= limit:
                used, reset = limit, self.graphql_rate_limited_until
        elif used > limit:
            status, headers, body = 403, {}, {"message": f"API rate limit exceeded ({resource})."}
        elif fault is not None and fault.rewrite is None:
            status, headers, body = fault.status, dict(fault.headers or {}), fault.body or {"message": "fault"}
        elif method == "POST" and path == "/graphql":
            status, headers, body = self._graphql(payload, authorized)
        else:
            status, headers, body = self._route(method, path, query)
        if fault is not None:
            if fault.rewrite is not None:
                body = fault.rewrite(body)
            if fault.raw is not None or fault.delay:
                body = _Planted(json.dumps(body).encode() if fault.raw is None else fault.raw, fault.delay)
        with self._lock:
            self.requests.append(ReceivedRequest(method, path, query, status, authorized, time.monotonic()))
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(limit - used, 0)),
            "x-ratelimit-used": str(min(used, limit)),
            "x-ratelimit-reset": str(int(reset)),
            "x-ratelimit-resource": resource,
            **headers,
        }
        return status, headers, body

    def _charge(self, resource: str, free: bool = False) -> tuple[int, int, float]:
        """Count a request against its resource's window: (limit, used including this one, reset)."""
        limit, period = self.limits[resource]
        now = time.time()
        with self._lock:
            reset, used = self._windows.get(resource, (0.0, 0))
            if now >= reset:
                reset, used = now + period, 0
            used += 0 if free else 1
            self._windows[resource] = (reset, used)
        return limit, used, reset

    def _take_fault(self, path: str, query: dict[str, str]) -> Fault | None:
        """The first fault that applies to this request, used up once; None when none does."""
        with self._lock:
            for fault in self.faults:
                if fault.applies(path, query):
                    fault.times -= 1
                    return fault
        return None

    def _graphql(self, payload: bytes, authorized: bool) -> tuple[int, dict[str, str], Any]:
        """The `user(login:)` and `repository { ... history(author:) }` batches: every aliased user or
        history GitHub would resolve, NOT_FOUND errors for the rest.

        Field selection is not interpreted: each user or commit comes with all the fields the adapter asks for.
        """
        if not authorized:
            return 401, {}, {"message": "This endpoint requires you to be authenticated."}
        request = json.loads(payload or b"{}")
        variables = request.get("variables") or {}
        query = request.get("query", "")
        data: dict[str, Any] = {}
        errors = self._graphql_users(query, variables, data)
        histories = self._graphql_histories(query, variables, data, errors)
        # GitHub charges a point per 100 connections a query may open (one history per alias here).
        cost = max(1, -(-histories // 100))
        data = {"rateLimit": {"cost": cost, "remaining": 4999, "resetAt": "2099-01-01T00:00:00Z"}} | data
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = errors
        return 200, {}, body

    def _graphql_histories(
        self, query: str, variables: dict[str, Any], data: dict[str, Any], errors: list[dict[str, Any]]
    ) -> int:
        """Answer each aliased `repository(owner:, name:) { ... history(first:, author: {id:}) }`: the
        author's commits there, newest first, dated in the author's own offset. Returns how many."""
        lookups = list(re.finditer(rf"(\w+)\s*:\s*repository\(owner:\s*{_ARG},\s*name:\s*{_ARG}\)", query))
        for i, match in enumerate(lookups):
            alias = match.group(1)
            owner, name = _value(variables, *match.group(2, 3)), _value(variables, *match.group(4, 5))
            segment = query[match.end() : lookups[i + 1].start() if i + 1 < len(lookups) else len(query)]
            history = re.search(rf"history\(first:\s*(\d+),\s*author:\s*{{\s*id:\s*{_ARG}\s*}}\)", segment)
            repo = self._repos.get(f"{owner}/{name}".lower())
            if repo is None or history is None:
                data[alias] = None
                errors.append(
                    {
                        "type": "NOT_FOUND",
                        "path": [alias],
                        "message": f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                    }
                )
                continue
            node_id = _value(variables, *history.group(2, 3))
            user = self._user_ids.get(node_id.removeprefix("U_"))
            login = (user or {}).get("login", "").lower()
            mine = [c for c in repo["commits"] if login and (c["author_login"] or "").lower() == login]
            nodes = [self._history_node(repo, c) for c in mine[: int(history.group(1))]]
            data[alias] = {"defaultBranchRef": {"target": {"history": {"nodes": nodes}}}}
        return len(lookups)

    def _history_node(self, repo: dict[str, Any], commit: dict[str, Any]) -> dict[str, Any]:
        login = commit["author_login"]
        return {
            "oid": commit["sha"],
            "url": f"https://github.com/{repo['full_name']}/commit/{commit['sha']}",
            "author": {
                "email": commit["author_email"],
                "name": commit["author_name"],
                "date": git_timestamp(commit["date"], commit.get("tz")),
                "user": {"login": self._users[login.lower()]["login"]} if login.lower() in self._users else None,
            },
        }

    def _graphql_users(self, query: str, variables: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
        """Answer each aliased `user(login:)`; returns the errors of those it cannot."""
        errors = []
        for alias, name, literal in re.findall(rf"(\w+)\s*:\s*user\(login:\s*{_ARG}\)", query):
            login = _value(variables, name, literal)
            user = self._users.get(login.lower())
            if failure := self.graphql_failures.get(login.lower()):
                data[alias] = None
                errors.append({"type": failure, "path": [alias], "message": f"{failure} for '{login}'."})
                continue
            if user is None or user["type"] != "User":
                data[alias] = None
                errors.append(
                    {
                        "type": "NOT_FOUND",
                        "path": [alias],
                        "locations": [{"line": 1, "column": 1}],
                        "message": f"Could not resolve to a User with the login of '{login}'.",
                    }
                )
                continue
            data[alias] = {
                "login": user["login"],
                "name": user.get("name"),
                "company": user.get("company"),
                "websiteUrl": user.get("blog") or None,
                "location": user.get("location"),
                "email": user.get("email") or "",
                "bio": user.get("bio") or "",
                "createdAt": user["created_at"],
                "updatedAt": user["updated_at"],
                "url": f"https://github.com/{user['login']}",
                "followers": {"totalCount": user.get("followers", 0)},
                "repositories": {"totalCount": user.get("public_repos", 0)},
                "id": f"U_{user['id']}",
                "databaseId": user["id"],
            }
        return errors

    def _route(self, method: str, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if method != "GET":
            return 405, {}, {"message": "Method not allowed"}
        routes: list[tuple[str, Callable[..., tuple[int, dict[str, str], Any]]]] = [
            (r"^/search/repositories$", self._search),
            (r"^/repos/([^/]+/[^/]+)/contributors$", self._contributors),
            (r"^/repos/([^/]+/[^/]+)/commits$", self._commits),
            (r"^/repos/([^/]+/[^/]+)$", self._repo),
            (r"^/users/([^/]+)$", self._user),
            (r"^/user/(\d+)$", self._user_by_id),
            (r"^/rate_limit$", self._rate_limit),
        ]
        for pattern, route in routes:
            if match := re.match(pattern, path):
                return route(path, query, *match.groups())
        return 404, {}, {"message": "Not Found"}

    def _page(self, path: str, query: dict[str, str], items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("first", 1), ("last", last)):
            if 1 <= number <= last and ((rel in ("first", "last") and page != number) or rel in ("prev", "next")):
                links.append(f'<{self.url}{path}?{urlencode({**query, "page": number})}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if last > 1 else {}
        return items[(page - 1) * per_page : page * per_page], headers

    def _search(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        q = query.get("q", "")
        if not q.strip():
            return 422, {}, {"message": "Validation Failed", "errors": [{"code": "missing", "field": "q"}]}
        matches = [repo for repo in self.snapshot["repos"] if _matches(repo, q)]
        matches.sort(key=lambda repo: repo["stargazers_count"], reverse=True)
        per_page = min(int(query.get("per_page", 30)), 100)
        if (int(query.get("page", 1)) - 1) * per_page >= self.search_cap:
            return 422, {}, {"message": f"Only the first {self.search_cap} search results are available"}
        page, headers = self._page(path, query, matches[: self.search_cap])
        items = [self._repo_json(repo) | {"score": 1.0} for repo in page]
        return 200, headers, {"total_count": len(matches), "incomplete_results": False, "items": items}

    def _repo(self, path: str, query: dict[str, str], full_name: str) -> tuple[int, dict[str, str], Any]:
        repo = self._repos.get(full_name.lower())
        return (200, {}, self._repo_json(repo)) if repo else (404, {}, {"message": "Not Found"})

    def _contributors(self, path: str, query: dict[str, str], full_name: str) -> tuple[int, dict[str, str], Any]:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            return 404, {}, {"message": "Not Found"}
        people = [self._user_summary(c["login"]) | {"contributions": c["contributions"]} for c in repo["contributors"]]
        page, headers = self._page(path, query, people)
        return 200, headers, page

    def _commits(self, path: str, query: dict[str, str], full_name: str) -> tuple[int, dict[str, str], Any]:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            return 404, {}, {"message": "Not Found"}
        commits = repo["commits"]
        if author := query.get("author"):
            commits = [c for c in commits if (c["author_login"] or "").lower() == author.lower()]
        page, headers = self._page(path, query, commits)
        return 200, headers, [self._commit_json(repo, c) for c in page]

    def _user(self, path: str, query: dict[str, str], login: str) -> tuple[int, dict[str, str], Any]:
        user = self._users.get(login.lower())
        if user is None:
            return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        return (
            200,
            {},
            self._user_summary(user["login"])
            | {
                key: user.get(key)
                for key in (
                    "name",
                    "company",
                    "blog",
                    "location",
                    "email",
                    "bio",
                    "twitter_username",
                    "hireable",
                    "public_repos",
                    "public_gists",
                    "followers",
                    "following",
                    "created_at",
                    "updated_at",
                )
            },
        )

    def _user_by_id(self, path: str, query: dict[str, str], user_id: str) -> tuple[int, dict[str, str], Any]:
        """GET /user/{account_id}: the same profile by numeric id (PyGithub completes users by id)."""
        user = self._user_ids.get(user_id)
        return self._user(path, query, user["login"]) if user else (404, {}, {"message": "Not Found"})

    def _rate_limit(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        resources = {}
        for name, (limit, _) in self.limits.items():
            reset, used = self._windows.get(name, (time.time(), 0))
            resources[name] = {"limit": limit, "remaining": max(limit - used, 0), "reset": int(reset), "used": used}
        return 200, {}, {"resources": resources, "rate": resources["core"]}

    # --- JSON shapes ---------------------------------------------------------------------------

    def _user_summary(self, login: str) -> dict[str, Any]:
        user = self._users.get(login.lower(), {"login": login, "id": 0, "type": "User"})
        return {
            "login": user["login"],
            "id": user["id"],
            "node_id": f"U_{user['id']}",
            "type": user["type"],
            "site_admin": False,
            "url": f"{self.url}/users/{user['login']}",
            "html_url": f"https://github.com/{user['login']}",
        }

    def _repo_json(self, repo: dict[str, Any]) -> dict[str, Any]:
        full_name = repo["full_name"]
        owner = repo["owner"]
        return {
            key: repo[key]
            for key in (
                "name",
                "full_name",
                "description",
                "topics",
                "language",
                "stargazers_count",
                "forks_count",
                "watchers_count",
                "open_issues_count",
                "archived",
                "fork",
                "created_at",
                "updated_at",
                "pushed_at",
                "default_branch",
                "homepage",
                "license",
            )
        } | {
            "id": zlib.crc32(full_name.encode()),
            "owner": {"login": owner["login"], "type": owner["type"], "url": f"{self.url}/users/{owner['login']}"},
            "private": False,
            "url": f"{self.url}/repos/{full_name}",
            "html_url": f"https://github.com/{full_name}",
            "contributors_url": f"{self.url}/repos/{full_name}/contributors",
            "commits_url": f"{self.url}/repos/{full_name}/commits{{/sha}}",
        }

    def _commit_json(self, repo: dict[str, Any], commit: dict[str, Any]) -> dict[str, Any]:
        person = {"name": commit["author_name"], "email": commit["author_email"], "date": commit["date"]}
        login = commit["author_login"]
        return {
            "sha": commit["sha"],
            "url": f"{self.url}/repos/{repo['full_name']}/commits/{commit['sha']}",
            "html_url": f"https://github.com/{repo['full_name']}/commit/{commit['sha']}",
            "commit": {"author": person, "committer": person, "message": commit["message"]},
            "author": self._user_summary(login) if login else None,
            "committer": self._user_summary(login) if login else None,
        }


_ARG = r'(?:\$(\w+)|"([^"]*)")'
"""A GraphQL argument: a variable (group 1) or a string literal (group 2)."""
_RATE_LIMITED = {
    "type": "RATE_LIMITED",
    "code": "graphql_rate_limit",
    "message": "API rate limit exceeded for user ID 1.",
}


def _value(variables: dict[str, Any], variable: str | None, literal: str | None) -> str:
    return str(variables.get(variable, "")) if variable else literal or ""


def git_timestamp(utc_date: str, tz: str | None) -> str:
    """A snapshot's UTC commit date as GraphQL's `GitTimestamp`: in the author's offset (`tz`, e.g.
    "+05:30"; UTC when the snapshot gives none)."""
    moment = datetime.fromisoformat(utc_date.replace("Z", "+00:00"))
    if tz:
        sign = -1 if tz.startswith("-") else 1
        hours, _, minutes = tz.lstrip("+-").partition(":")
        moment = moment.astimezone(timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0))))
    return moment.isoformat()


def _resource_of(path: str) -> str:
    """Which rate-limit bucket GitHub charges a path to."""
    if path.startswith("/search/"):
        return "search"
    return "graphql" if path == "/graphql" else "core"


_QUALIFIER = re.compile(r'(\w+):("[^"]*"|\S+)')


def _matches(repo: dict[str, Any], q: str) -> bool:
    """A subset of GitHub's repository search: free words plus common qualifiers, all ANDed."""
    text = " ".join([repo["name"], repo["description"] or "", " ".join(repo["topics"])]).lower()
    for key, raw in _QUALIFIER.findall(q):
        value = raw.strip('"').lower()
        if key == "topic" and value not in [t.lower() for t in repo["topics"]]:
            return False
        if key == "language" and value != (repo["language"] or "").lower():
            return False
        if key in ("archived", "fork") and (value == "true") != bool(repo[key]) and value in ("true", "false"):
            return False
        if key == "stars" and not _compare(repo["stargazers_count"], value, int):
            return False
        if key in ("pushed", "created") and not _compare(repo[f"{key}_at"][:10], value, str):
            return False
        if key == "in":
            continue
    words = [w.lower() for w in _QUALIFIER.sub(" ", q).split() if w.upper() not in ("AND", "OR", "NOT")]
    return all(word.strip('"') in text for word in words)


def _compare(actual: Any, expr: str, cast: Callable[[str], Any]) -> bool:
    if ".." in expr:
        low, high = expr.split("..", 1)
        return (low == "*" or actual >= cast(low)) and (high == "*" or actual <= cast(high))
    for op in (">=", "<=", ">", "<"):
        if expr.startswith(op):
            bound = cast(expr[len(op) :])
            return bool({">=": actual >= bound, "<=": actual <= bound, ">": actual > bound, "<": actual < bound}[op])
    return bool(actual == cast(expr))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hang up (a run killed or crashed mid-request); other errors as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(stand_in: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._answer("POST", self.rfile.read(length))

        def _answer(self, method: str, received: bytes = b"") -> None:
            if stand_in.latency:
                time.sleep(stand_in.latency)
            authorized = bool(self.headers.get("Authorization"))
            status, headers, body = stand_in.handle(method, self.path, authorized, received)
            planted = body if isinstance(body, _Planted) else _Planted(json.dumps(body).encode(), 0.0)
            if planted.delay:
                time.sleep(planted.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(planted.payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(planted.payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (a timeout fault)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the stand-in keeps its own request log."""

    return Handler


def shift_dates(snapshot: Snapshot, now: datetime) -> Snapshot:
    """A copy of `snapshot` whose timestamps move by (now - taken_at), so "recent" stays recent."""
    taken = datetime.fromisoformat(snapshot["taken_at"].replace("Z", "+00:00"))
    delta = now - taken
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

    def move(value: Any) -> Any:
        if isinstance(value, str) and iso.match(value):
            moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + delta
            return moved.strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    shifted: Snapshot = move(snapshot)
    return shifted
