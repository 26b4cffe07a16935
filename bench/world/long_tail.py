"""The ``--long-tail`` commit history, shaped like a big real repository's, and the measure of it.

The product reads a repository's newest commit page (``/repos/{o}/{r}/commits``, 100 a page) for
everyone who committed recently, then asks ``/repos/{o}/{r}/commits?author=LOGIN`` per person it
is still missing. The default history (30-120 newest commits) holds every commit on the first two
pages. In this shape, per repository:

* the newest ``NEWEST_PAGES`` pages of ``PAGE_SIZE`` commits, plus up to one page more, are the core
  team's: bots and every human with more than ``FEW_COMMITS`` contributions, drawn by contribution
  count, within at most a year (and at most the newest 35% of the repository's life);
* every few-commit human (``FEW_COMMITS`` contributions or fewer) gets one commit per contribution
  in the older history, spread between the repository's first week and the start of those pages —
  months to years back — among as many older core commits;
* ``DRIVE_BY_SHARE`` of them are drive-by contributors whose newest commit is among the recent ones;
* commits linked to no account replace core commits only, so ``?author=LOGIN`` finds every
  few-commit contributor.

So the newest pages show the core team, and most of the long tail is reachable only through
``?author=``. `old_tail` lists those (the snapshot's ``traps["old_tail"]``); `tail_reach` measures it.
"""

from __future__ import annotations

import random
import statistics
from datetime import datetime, timedelta
from typing import Any, TypedDict

from bench.world.clock import day, iso
from bench.world.commits import Commit, authored_commit, new_sha, unlinked_commit
from bench.world.person import Person
from bench.world.repos import Repo
from bench.world.tables import Bot

FEW_COMMITS = 5  # a human with at most this many contributions to a repository is in its long tail
PAGE_SIZE = 100  # GitHub's largest page, which the product asks for
NEWEST_PAGES = 3  # the newest pages that belong to the core team
DRIVE_BY_SHARE = 0.15  # few-commit contributors whose commit is recent nonetheless
RECENT_SPAN_DAYS = 365.0
RECENT_SHARE_OF_LIFE = 0.35


def build_long_tail_commits(
    repo: Repo, people: dict[str, Person], bots: dict[str, Bot], r: random.Random
) -> list[Commit]:
    """The repository's history in the long-tail shape (see the module docstring), newest first."""
    spec = repo.spec
    floor = day(spec.created) + timedelta(days=6)
    newest = repo.pushed_at - timedelta(minutes=r.randint(0, 90))
    tail = [login for login, n in repo.contributions.items() if login not in bots and n <= FEW_COMMITS]
    core = [login for login in repo.contributions if login not in tail]
    if not core:  # everyone has few commits: the top one is the core team
        core, tail = tail[:1], tail[1:]
    core_weights = [repo.contributions[login] ** 0.8 for login in core]

    recent = r.choices(core, weights=core_weights, k=NEWEST_PAGES * PAGE_SIZE + r.randint(0, PAGE_SIZE))
    old: list[str] = []
    for login in tail:
        n = repo.contributions[login]
        if r.random() < DRIVE_BY_SHARE:
            recent.insert(r.randint(0, len(recent)), login)
            n -= 1
        old += [login] * n
    old += r.choices(core, weights=core_weights, k=max(PAGE_SIZE // 2, len(old)))
    r.shuffle(old)

    life_days = max(1.0, (newest - floor).total_seconds() / 86400)
    span = min(len(recent) * spec.commit_gap_days, RECENT_SPAN_DAYS, life_days * RECENT_SHARE_OF_LIFE)
    moments = [newest]
    for _ in recent[1:]:
        moments.append(moments[-1] - timedelta(days=r.expovariate(len(recent) / span)))
    start = moments[-1] - timedelta(hours=1)
    room = max(3600.0, (start - floor).total_seconds())
    moments += sorted((start - timedelta(seconds=r.uniform(0, room)) for _ in old), reverse=True)

    authors = recent + old
    unlinked_at: set[int] = set()
    if spec.fork_of is None:
        core_slots = [i for i, login in enumerate(authors) if login in core]
        unlinked_at = set(r.sample(core_slots, r.choice((0, 0, 0, 1, 1, 2))))
    commits: list[Commit] = []
    for i, (moment, login) in enumerate(zip(moments, authors, strict=True)):
        sha = new_sha(r)
        if i in unlinked_at:
            commits.append(unlinked_commit(repo, sha, iso(moment), r))
        else:
            commits.append(authored_commit(repo, login, sha, iso(moment), people, bots, r))
    return commits


class TailReach(TypedDict):
    """How much of a world's long tail the newest commit pages show."""

    few_commit: int  # (repository, human) pairs with at most FEW_COMMITS contributions
    with_commits: int  # of those, pairs with a commit in the repository's history (?author= finds it)
    beyond_pages: int  # of those, pairs whose newest commit is older than the newest `pages` pages
    median_age_days: float  # age of those pairs' newest commit, at the snapshot's taken_at
    top_humans: int  # each repository's three most frequent human contributors with more than FEW_COMMITS
    top_on_first_page: int  # of those, pairs with a commit on the newest page


def newest_positions(repo: dict[str, Any]) -> dict[str, int]:
    """Each author's newest commit position in the repository's history (0: its newest commit)."""
    positions: dict[str, int] = {}
    for i, commit in enumerate(repo["commits"]):
        login = commit["author_login"]
        if login is not None and login not in positions:
            positions[login] = i
    return positions


def few_commit_humans(repo: dict[str, Any], bots: set[str]) -> list[str]:
    return [c["login"] for c in repo["contributors"] if c["login"] not in bots and c["contributions"] <= FEW_COMMITS]


def old_tail(repos: list[dict[str, Any]], bots: set[str], pages: int = NEWEST_PAGES) -> list[list[str]]:
    """``[full_name, login]`` of few-commit humans who have commits, none of them on the newest
    `pages` pages: only ``?author=LOGIN`` finds their addresses."""
    found: list[list[str]] = []
    for repo in repos:
        positions = newest_positions(repo)
        for login in few_commit_humans(repo, bots):
            if positions.get(login, -1) >= pages * PAGE_SIZE:
                found.append([repo["full_name"], login])
    return found


def tail_reach(snapshot: dict[str, Any], pages: int = NEWEST_PAGES) -> TailReach:
    """Measures the long-tail property on a generated snapshot (either shape)."""
    bots = set(snapshot["traps"]["bots"])
    taken_at = datetime.fromisoformat(snapshot["taken_at"].replace("Z", "+00:00"))
    reach = TailReach(
        few_commit=0, with_commits=0, beyond_pages=0, median_age_days=0.0, top_humans=0, top_on_first_page=0
    )
    ages: list[float] = []
    for repo in snapshot["repos"]:
        positions = newest_positions(repo)
        for login in few_commit_humans(repo, bots):
            reach["few_commit"] += 1
            if login not in positions:
                continue
            reach["with_commits"] += 1
            reach["beyond_pages"] += positions[login] >= pages * PAGE_SIZE
            newest = datetime.fromisoformat(repo["commits"][positions[login]]["date"].replace("Z", "+00:00"))
            ages.append((taken_at - newest).total_seconds() / 86400)
        humans = [c for c in repo["contributors"] if c["login"] not in bots and c["contributions"] > FEW_COMMITS]
        for c in humans[:3]:
            reach["top_humans"] += 1
            reach["top_on_first_page"] += positions.get(c["login"], PAGE_SIZE) < PAGE_SIZE
    reach["median_age_days"] = round(statistics.median(ages), 1) if ages else 0.0
    return reach
