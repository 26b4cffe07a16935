"""Assembles the snapshot the GitHub stand-in serves: repositories with contributors and commits,
user profiles, and where the traps are (``traps``); writes it as JSON."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.world.clock import TAKEN_AT, day, days_ago, iso
from bench.world.commits import build_commits, commit_time
from bench.world.long_tail import build_long_tail_commits, old_tail
from bench.world.people import make_people
from bench.world.person import Person
from bench.world.repos import build_repos, select_specs
from bench.world.tables import Bot, account_tables, repo_tables

SNAPSHOT_VERSION = 1


def user_record(p: Person) -> dict[str, Any]:
    return {
        "login": p.login,
        "id": p.uid,
        "type": "User",
        "name": p.name,
        "company": p.company_field,
        "blog": p.blog,
        "location": p.location,
        "email": p.profile_email,
        "bio": p.bio,
        "twitter_username": p.twitter,
        "hireable": p.hireable,
        "public_repos": p.public_repos,
        "public_gists": p.public_gists,
        "followers": p.followers,
        "following": p.following,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
    }


def bot_record(bot: Bot) -> dict[str, Any]:
    return {
        "login": bot.login,
        "id": bot.uid,
        "type": bot.type,
        "name": None,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "bio": None,
        "twitter_username": None,
        "hireable": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": bot.created_at,
        "updated_at": bot.created_at,
    }


def build_snapshot(repos: int = 20, people: int = 200, seed: int = 7, *, long_tail: bool = False) -> dict[str, Any]:
    """Build the snapshot in memory; the same arguments always give the same result.

    `repos` repositories (the first 20 are hand-written, more are synthesised) and `people`
    human accounts; the bot accounts come on top. Needs repos >= 1 and people >= 10. `long_tail`
    gives every repository the history of `bench.world.long_tail` (the people, repositories and
    contributor lists stay those of the default shape).
    """
    if repos < 1:
        raise ValueError("repos must be >= 1")
    if people < 10:
        raise ValueError("people must be >= 10")
    r = random.Random(seed)
    persons = make_people(people, r)
    specs = select_specs(repos, r)
    scale = max(1.0, people / 200) ** 0.5  # bigger crowds, but not proportionally bigger repositories
    built = build_repos(specs, persons, scale, r)
    people_by_login = {p.login: p for p in persons}
    bots = {b.login: b for b in account_tables().bots}
    licenses = repo_tables().licenses
    history = build_long_tail_commits if long_tail else build_commits

    last_commit: dict[str, datetime] = {}
    repo_records: list[dict[str, Any]] = []
    for repo in built:
        spec = repo.spec
        created = day(spec.created)
        if spec.archived_days is not None:
            pushed = days_ago(spec.archived_days + r.uniform(0, 5))
        else:
            days = min(r.expovariate(1 / spec.pushed_mean_days), max(58.0, spec.pushed_mean_days * 1.5))
            pushed = days_ago(days + r.uniform(0, 1))
        pushed = max(pushed, created + timedelta(days=30))
        repo.pushed_at = pushed.replace(microsecond=0)
        updated = max(repo.pushed_at, days_ago(r.uniform(0, 3)))
        commits = history(repo, people_by_login, bots, r)
        for c in commits:
            login = c["author_login"]
            if login in people_by_login:
                at = commit_time(c)
                last_commit[login] = max(last_commit.get(login, at), at)
        if spec.fork_of is not None:
            forks, issues = 0, 0
        else:
            forks = int(spec.stars * r.uniform(0.06, 0.16))
            issues = int(3 + spec.stars * r.uniform(0.004, 0.02))
        repo_records.append(
            {
                "full_name": f"{repo.owner_login}/{spec.name}",
                "name": spec.name,
                "owner": {"login": repo.owner_login, "type": repo.owner_type},
                "description": spec.description,
                "topics": list(spec.topics),
                "language": spec.language,
                "stargazers_count": spec.stars,
                "forks_count": forks,
                "watchers_count": spec.stars,  # the REST API mirrors stargazers here
                "open_issues_count": issues,
                "archived": spec.archived_days is not None,
                "fork": spec.fork_of is not None,
                "created_at": iso(created + timedelta(seconds=r.randint(0, 86399))),
                "updated_at": iso(updated),
                "pushed_at": iso(repo.pushed_at),
                "default_branch": "main",
                "homepage": spec.homepage,
                "license": dict(licenses[spec.license]) if spec.license else None,
                "contributors": [{"login": login, "contributions": n} for login, n in repo.contributions.items()],
                "commits": commits,
            }
        )

    users: dict[str, dict[str, Any]] = {}
    for bot in bots.values():
        users[bot.login] = bot_record(bot)
    for p in persons:
        if p.login in last_commit and last_commit[p.login] > p.updated_at:
            p.updated_at = last_commit[p.login] + timedelta(hours=r.randint(1, 72))
            p.updated_at = min(p.updated_at, TAKEN_AT)
        users[p.login] = user_record(p)
    # An account deleted after contributing: still listed as a contributor, but its profile is gone.
    repos_of = Counter(c["login"] for repo in repo_records for c in repo["contributors"])
    biggest = max(repo_records, key=lambda repo: len(repo["contributors"]))
    gone = min(
        (
            c["login"]
            for c in biggest["contributors"]
            if c["login"] in people_by_login
            and people_by_login[c["login"]].email_kind == "public"
            and repos_of[c["login"]] == 1
        ),
        key=str.lower,
    )
    del users[gone]
    users = dict(sorted(users.items(), key=lambda kv: kv[0].lower()))
    traps = find_traps(repo_records, users, persons, gone)
    if long_tail:
        traps["old_tail"] = old_tail(repo_records, set(traps["bots"]))
    return {
        "snapshot_version": SNAPSHOT_VERSION,
        "taken_at": iso(TAKEN_AT),
        "repos": repo_records,
        "users": users,
        "traps": traps,
    }


def find_traps(
    repos: list[dict[str, Any]], users: dict[str, dict[str, Any]], persons: list[Person], gone: str
) -> dict[str, list[Any]]:
    """Where the snapshot's traps are, so tests can check each one on any generated snapshot."""
    by_address: dict[str, list[str]] = {}
    for login, user in users.items():
        if user["email"]:
            by_address.setdefault(user["email"].lower(), []).append(login)
    return {
        "bots": sorted(login for login, u in users.items() if u["type"] == "Bot" or login.endswith("[bot]")),
        "bot_lookalikes": sorted(
            login
            for login, u in users.items()
            if login.lower().startswith("bot") and u["type"] == "User" and not login.endswith("[bot]")
        ),
        "noreply": sorted(p.login for p in persons if p.email_kind == "noreply" and p.login in users),
        "role": sorted(p.login for p in persons if p.email_kind == "role" and p.login in users),
        "invalid": sorted(p.login for p in persons if p.email_kind == "invalid" and p.login in users),
        "shared_address": sorted(sorted(logins) for logins in by_address.values() if len(logins) > 1),
        "missing_profile": [gone],
        "paginated_repos": [repo["full_name"] for repo in repos if len(repo["contributors"]) > 100],
        "archived": [repo["full_name"] for repo in repos if repo["archived"]],
        "forks": [repo["full_name"] for repo in repos if repo["fork"]],
    }


def snapshot_bytes(snapshot: dict[str, Any]) -> bytes:
    """The snapshot as written to disk: UTF-8 JSON, indent=1, one trailing newline."""
    return (json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def write_snapshot(snapshot: dict[str, Any], out: Path) -> int:
    """Write the snapshot to `out` (parents created); returns the size in bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    data = snapshot_bytes(snapshot)
    out.write_bytes(data)
    return len(data)
