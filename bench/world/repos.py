"""The repositories: which ones (hand-written first, then synthesised), who owns them, who
contributes and how much. Plants the off-topic, archived and forked repositories and the two with
more than 100 contributors."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime

from bench.world.clock import TAKEN_AT
from bench.world.person import Person
from bench.world.tables import RepoSpec, account_tables, repo_tables
from bench.world.text import upper_first


@dataclass
class Repo:
    spec: RepoSpec
    owner_login: str
    owner_type: str
    owner_person: Person | None
    humans: list[Person] = field(default_factory=list)
    contributions: dict[str, int] = field(default_factory=dict)  # login -> count, largest first
    pushed_at: datetime = TAKEN_AT


def select_specs(count: int, r: random.Random) -> list[RepoSpec]:
    """`count` repository specs: the hand-written ones (trap repositories kept first when fewer are
    asked for), then synthesised ML repositories."""
    t = repo_tables()
    if count <= len(t.repos):
        chosen = [s.key for s in t.repos if s.key in t.priority]
        chosen.sort(key=t.priority.index)
        chosen += [s.key for s in t.repos if s.key not in t.priority]
        keep = set(chosen[:count])
        return [s for s in t.repos if s.key in keep]
    specs = list(t.repos)
    used = {s.name for s in specs}
    ml_orgs = [c.handle for c in account_tables().companies if c.kind == "ml" and c.handle]
    while len(specs) < count:
        name = f"{r.choice(t.extra_prefixes)}{r.choice(t.extra_suffixes)}"
        if name in used:
            name = f"{name}-{r.choice(('py', 'rs', 'x', 'lite', 'next'))}"
            if name in used:
                continue
        used.add(name)
        template, topics, language = r.choice(t.extra_themes)
        what = r.choice(t.extra_subjects)
        extra_topics = tuple(dict.fromkeys((*topics, what.lower().replace(" ", "-"))))
        stars = int(min(40_000, 50 + r.paretovariate(0.9) * 60))
        specs.append(
            RepoSpec(
                key=f"extra-{name}",
                name=name,
                owner=r.choice(ml_orgs) if r.random() < 0.6 else None,
                description=upper_first(template.format(what=what)),
                topics=extra_topics,
                language=language,
                stars=stars,
                contributors=int(min(90, 3 + r.paretovariate(1.1) * 4)),
                theme="ml",
                created=f"{r.randint(2018, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                bots=tuple(b for b in ("dependabot[bot]", "pre-commit-ci[bot]") if r.random() < 0.35),
                license=r.choice(("mit", "apache-2.0", "bsd-3-clause", None)),
                pushed_mean_days=r.choice((2.0, 6.0, 15.0, 40.0)),
                commit_gap_days=r.choice((1.0, 3.0, 6.0)),
            )
        )
    return specs


def weighted_sample(pool: list[tuple[Person, float]], k: int, r: random.Random) -> list[Person]:
    """k items without replacement, probability proportional to weight (Efraimidis-Spirakis)."""
    keyed = [(r.random() ** (1.0 / w), i) for i, (_, w) in enumerate(pool) if w > 0]
    keyed.sort(reverse=True)
    return [pool[i][0] for _, i in keyed[:k]]


def affinity(p: Person, spec: RepoSpec, owner_org: str | None) -> float:
    """How likely `p` is to contribute to `spec` (0: never); the owner's employees much more so."""
    if p.kind == "noise":
        return 0.0
    if p.dormant:
        return 3.0 if spec.archived_days is not None else 0.0
    own_kind = "ml" if spec.theme == "ml" else "web"
    foreign = spec.web_affinity if spec.theme == "ml" else 0.08
    base = 1.0 if p.kind == own_kind else foreign
    if owner_org and p.company is not None and p.company.handle == owner_org:
        base *= 6.0
    return base


def build_repos(specs: list[RepoSpec], people: list[Person], scale: float, r: random.Random) -> list[Repo]:
    """Owners, contributors and contribution counts; `scale` grows contributor lists with the crowd."""
    repos: list[Repo] = []
    owners_used: dict[str, None] = {}
    ml_people = [p for p in people if p.kind == "ml" and not p.dormant and not p.login.startswith("pnair")]
    ml_people.sort(key=lambda p: -p.weight)
    for spec in specs:
        if spec.owner is not None:
            repos.append(Repo(spec, spec.owner, "Organization", None))
            continue
        # Forks belong to ordinary contributors, originals to prolific ones.
        band = ml_people[len(ml_people) // 4 :] if spec.fork_of else ml_people[: max(1, len(ml_people) // 5)]
        choices = [p for p in band if p.login not in owners_used] or band or people
        if spec.owner_cultures:
            preferred = [p for p in ml_people if p.culture.key in spec.owner_cultures and p.login not in owners_used]
            choices = sorted(preferred, key=lambda p: -p.weight)[:5] or choices
        owner = r.choice(choices)
        owners_used[owner.login] = None
        repos.append(Repo(spec, owner.login, "User", owner))

    by_key = {repo.spec.key: repo for repo in repos}
    order = sorted(repos, key=lambda repo: repo.spec.fork_of is not None)
    for repo in order:
        spec = repo.spec
        target = max(3, round(spec.contributors * scale)) - len(spec.bots)
        upstream = by_key.get(spec.fork_of) if spec.fork_of else None
        forced = [repo.owner_person] if repo.owner_person is not None else []
        skip = {id(p) for p in forced}
        if upstream is not None:
            pool = [(p, p.weight) for p in upstream.humans if id(p) not in skip]
        else:
            pool = [(p, p.weight * affinity(p, spec, spec.owner)) for p in people if id(p) not in skip]
        picked = weighted_sample(pool, max(0, target - len(forced)), r)
        repo.humans = forced + picked

    # Everyone who is meant to be a contributor contributes somewhere.
    covered = {id(p) for repo in repos for p in repo.humans}
    for p in people:
        if id(p) in covered or p.kind == "noise":
            continue
        options = [
            repo
            for repo in repos
            if repo.spec.contributors >= 15
            and repo.spec.fork_of is None
            and (p.dormant or repo.spec.archived_days is None)
            and affinity(p, repo.spec, repo.spec.owner) >= 0.5
        ]
        if not options:
            options = [
                repo
                for repo in repos
                if repo.spec.contributors >= 15
                and repo.spec.fork_of is None
                and repo.spec.archived_days is None
                and not p.dormant
            ]
        if not options:
            continue
        repo = r.choices(options, weights=[len(o.humans) for o in options])[0]
        repo.humans.append(p)
        covered.add(id(p))

    for repo in repos:
        assign_contributions(repo, r)
    return repos


def assign_contributions(repo: Repo, r: random.Random) -> None:
    """Contribution counts on a power law by rank (the owner first), bots scaled to the top human."""
    spec = repo.spec
    top = 40 + math.sqrt(spec.stars) * r.uniform(3.0, 7.0)
    ranked = sorted(repo.humans, key=lambda p: -(p.weight * r.lognormvariate(0, 0.6)))
    if repo.owner_person is not None and spec.fork_of is None:
        ranked.remove(repo.owner_person)
        ranked.insert(0, repo.owner_person)
    counts: dict[str, int] = {}
    for rank, p in enumerate(ranked):
        value = top * (rank + 1) ** -1.35 * r.lognormvariate(0, 0.35)
        counts[p.login] = max(1, int(value))
    if spec.fork_of is not None and repo.owner_person is not None:
        counts[repo.owner_person.login] = r.randint(3, 14)
    share = {bot.login: bot.commit_share for bot in account_tables().bots}
    for bot in spec.bots:
        counts[bot] = max(2, int(top * share[bot] * r.uniform(0.4, 1.6)))
    repo.contributions = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower())))
