"""Commit records: messages by theme and bot, author names and addresses, commits linked to no
account and ``Co-authored-by`` trailers; and the default history of a repository (its newest
30-120 commits, authors drawn by contribution count)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TypedDict

from bench.world.clock import day, iso
from bench.world.person import Person
from bench.world.repos import Repo
from bench.world.tables import Bot, commit_tables
from bench.world.zones import commit_offset


class Commit(TypedDict):
    sha: str
    author_login: str | None  # None: the author address is linked to no account
    author_name: str
    author_email: str
    date: str  # UTC, as REST gives it
    tz: str  # the author's UTC offset at the time (e.g. "+05:30"), which GraphQL's GitTimestamp keeps
    message: str


def version(r: random.Random) -> str:
    return f"{r.randint(0, 4)}.{r.randint(0, 20)}.{r.randint(0, 9)}"


def upgrade(r: random.Random) -> tuple[str, str]:
    """An old and a newer version, as in a dependency bump."""
    major, minor, patch = r.randint(0, 4), r.randint(0, 20), r.randint(0, 9)
    patch_bump = r.random() < 0.6
    newer = f"{major}.{minor}.{patch + r.randint(1, 3)}" if patch_bump else f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch}", newer


def bot_message(bot: str, language: str, r: random.Random) -> str:
    packages = commit_tables().packages
    pkg = r.choice(packages.get(language, packages["Python"]))
    a, b = upgrade(r)
    if bot == "dependabot[bot]":
        suffix = r.choice(("", "", " in /docs", " in /.github/workflows"))
        return (
            f"Bump {pkg} from {a} to {b}{suffix}\n\nBumps {pkg} from {a} to {b}.\n\n"
            f"Signed-off-by: dependabot[bot] <support@github.com>"
        )
    if bot == "renovate[bot]":
        return r.choice(
            (
                f"chore(deps): update dependency {pkg} to v{b}",
                f"fix(deps): update {'rust crate' if language == 'Rust' else 'dependency'} {pkg} to {b}",
                "chore(deps): lock file maintenance",
            )
        )
    if bot == "pre-commit-ci[bot]":
        return r.choice(
            (
                "[pre-commit.ci] pre-commit autoupdate",
                "[pre-commit.ci] auto fixes from pre-commit.com hooks\n\nfor more "
                "information, see https://pre-commit.ci",
            )
        )
    if bot == "github-actions[bot]":
        return r.choice((f"Update changelog for v{b}", "Update API reference [skip ci]", "chore: regenerate lockfile"))
    return r.choice((f"Release v{b}", f"Bump version to {b} [release]"))


def human_message(repo: Repo, author: Person, r: random.Random) -> str:
    t = commit_tables()
    theme = repo.spec.theme
    if r.random() < 0.12 and repo.humans:
        pr = r.randint(12, 2400)
        branch = (
            r.choice(("fix", "feat", "docs", "perf"))
            + "/"
            + r.choice(("padding", "tokenizer", "ci", "readme", "resume", "kv-cache", "typos", "dtype"))
        )
        return f"Merge pull request #{pr} from {author.login}/{branch}"
    if theme == "web":
        msg = r.choice(t.web_messages)
    elif theme == "game":
        msg = r.choice(t.game_messages)
    else:
        msg = r.choice(t.ml_messages).format(
            module=r.choice(t.ml_modules), model=r.choice(t.ml_models), version=version(r)
        )
    if r.random() < 0.25:
        msg += "\n\n" + r.choice(t.message_bodies).format(issue=r.randint(10, 2400))
    if r.random() < 0.02 and len(repo.humans) > 1:
        co = r.choice([p for p in repo.humans if p is not author])
        if co.commit_emails:
            msg += f"\n\nCo-authored-by: {co.display} <{co.commit_emails[0]}>"
    return msg


def author_name(p: Person, r: random.Random) -> str:
    """The name on a commit: mostly the profile name, sometimes the login or a re-spelling."""
    roll = r.random()
    if p.name is None or roll < 0.06:
        return p.login
    if roll < 0.12:
        return f"{p.first.capitalize()} {p.last.capitalize()}"
    return p.name


def unlinked_commit(repo: Repo, sha: str, date: str, r: random.Random) -> Commit:
    """A commit whose author address belongs to no account: a build machine or a laptop's default."""
    t = commit_tables()
    if r.random() < 0.5:
        name, email = r.choice(t.unlinked_authors)
    else:
        ghost = r.choice(repo.humans)
        name = ghost.display
        host = r.choice(("MacBook-Pro.local", "thinkpad", "devbox.lan"))
        email = f"{ghost.first}@{ghost.first}s-{host}"
    messages = t.ml_messages if repo.spec.theme == "ml" else t.web_messages + t.game_messages
    return {
        "sha": sha,
        "author_login": None,
        "author_name": name,
        "author_email": email,
        "date": date,
        "tz": "+00:00",
        "message": r.choice(messages).format(
            module=r.choice(t.ml_modules), model=r.choice(t.ml_models), version=version(r)
        ),
    }


def authored_commit(
    repo: Repo, login: str, sha: str, date: str, people: dict[str, Person], bots: dict[str, Bot], r: random.Random
) -> Commit:
    """A commit by the bot or person `login`, with one of the addresses they commit with."""
    if login in bots:
        return {
            "sha": sha,
            "author_login": login,
            "author_name": login,
            "author_email": bots[login].commit_email,
            "date": date,
            "tz": "+00:00",
            "message": bot_message(login, repo.spec.language, r),
        }
    person = people[login]
    emails = person.commit_emails or [person.noreply()]
    email = emails[0] if len(emails) == 1 or r.random() < 0.7 else r.choice(emails[1:])
    return {
        "sha": sha,
        "author_login": login,
        "author_name": author_name(person, r),
        "author_email": email,
        "date": date,
        "tz": commit_offset(person, sha),
        "message": human_message(repo, person, r),
    }


def new_sha(r: random.Random) -> str:
    return f"{r.getrandbits(160):040x}"


def build_commits(repo: Repo, people: dict[str, Person], bots: dict[str, Bot], r: random.Random) -> list[Commit]:
    """The default history: the newest 30-120 commits, newest first, authors drawn by contribution
    count, so the few-commit long tail mostly has no commit in it at all."""
    spec = repo.spec
    created = day(spec.created)
    n_contrib = len(repo.contributions)
    count = min(120, max(30, int(28 + n_contrib * 0.7 + r.randint(0, 20))))
    logins = list(repo.contributions)
    weights = [repo.contributions[login] ** 0.8 for login in logins]
    moment = repo.pushed_at - timedelta(minutes=r.randint(0, 90))
    commits: list[Commit] = []
    n_unlinked = r.choice((0, 0, 0, 1, 1, 2)) if spec.fork_of is None else 0
    unlinked_at = set(r.sample(range(count), n_unlinked))
    floor = created + timedelta(days=6)
    for i in range(count):
        if i:
            previous = moment
            moment -= timedelta(days=r.expovariate(1 / spec.commit_gap_days))
            if moment < floor:
                moment = previous - timedelta(minutes=r.randint(5, 50))
        sha = new_sha(r)
        if i in unlinked_at:
            commits.append(unlinked_commit(repo, sha, iso(moment), r))
            continue
        login = r.choices(logins, weights=weights)[0]
        commits.append(authored_commit(repo, login, sha, iso(moment), people, bots, r))
    return commits


def commit_time(commit: Commit) -> datetime:
    return datetime.fromisoformat(commit["date"].replace("Z", "+00:00"))
