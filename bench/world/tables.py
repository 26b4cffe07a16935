"""The world's reference tables (names, places, companies, repositories, commit texts), read from
``data/world/*.json`` into typed records; each file is read once, on first use.

Encodings kept from the hand-written tables: a given name ending in ``*`` is female, a family name
``male|female`` has two gendered forms, and a culture's free-mail domains map to a weight (how many
copies of the domain go into the draw, in file order). Order matters everywhere: the generator draws
from these sequences by position, so reordering a table changes every generated world.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from bench.world.clock import day

WORLD_DATA = Path(__file__).resolve().parents[2] / "data" / "world"

CompanyKind = Literal["ml", "web", "other"]
Theme = Literal["ml", "web", "game"]
AccountType = Literal["Bot", "User"]


@dataclass(frozen=True)
class Culture:
    """Names, cities and mail habits of one naming culture; `weight` is its share of people."""

    key: str
    weight: int
    given: tuple[str, ...]
    family: tuple[str, ...]
    cities: tuple[str, ...]
    freemail: tuple[str, ...]  # weighted by repetition
    tlds: tuple[str, ...]
    family_first: bool


@dataclass(frozen=True)
class Company:
    """An employer; `handle` is its GitHub organisation (None: it has none)."""

    display: str
    handle: str | None
    domain: str | None
    kind: CompanyKind


@dataclass(frozen=True)
class Bot:
    """A bot account; `commit_share` scales its commit count against the repository's top human."""

    login: str
    uid: int
    type: AccountType
    created_at: str
    commit_email: str
    commit_share: float


@dataclass(frozen=True)
class RepoSpec:
    """A hand-written (or synthesised) repository before people are attached to it."""

    key: str
    name: str
    owner: str | None  # organisation login; None means owned by a generated person
    description: str
    topics: tuple[str, ...]
    language: str
    stars: int
    contributors: int  # at people=200, bots included
    theme: Theme
    created: str  # YYYY-MM-DD
    bots: tuple[str, ...] = ()
    license: str | None = "mit"
    homepage: str | None = None
    pushed_mean_days: float = 9.0
    archived_days: float | None = None  # archived repos: days since the last push
    fork_of: str | None = None  # key of the upstream spec
    web_affinity: float = 0.03
    commit_gap_days: float = 2.0
    owner_cultures: tuple[str, ...] = ()  # preferred cultures for a person-owned repository


@dataclass(frozen=True)
class PeopleTables:
    cultures: tuple[Culture, ...]
    transliteration: dict[int, str]  # for str.translate: letters NFKD does not reduce to ASCII
    global_hubs: tuple[str, ...]
    quirky_locations: tuple[str, ...]
    login_words: tuple[str, ...]
    login_adjectives: tuple[str, ...]
    login_nouns: tuple[str, ...]
    id_curve: tuple[tuple[datetime, int], ...]  # account creation date -> GitHub id at that time


@dataclass(frozen=True)
class AccountTables:
    bots: tuple[Bot, ...]
    companies: tuple[Company, ...]


@dataclass(frozen=True)
class ProfileTables:
    universities: tuple[str, ...]
    freelance: tuple[str, ...]
    ml_topics: tuple[str, ...]
    # Bio templates: {company} {handle} {university} {previous} {topic} {Topic} {topic2}.
    ml_company_bios: tuple[str, ...]
    ml_university_bios: tuple[str, ...]
    ml_bios: tuple[str, ...]
    web_bios: tuple[str, ...]
    noise_bios: tuple[str | None, ...]


@dataclass(frozen=True)
class RepoTables:
    licenses: dict[str, dict[str, str]]
    repos: tuple[RepoSpec, ...]
    priority: tuple[str, ...]  # keys kept first when fewer repositories are asked for
    extra_prefixes: tuple[str, ...]
    extra_suffixes: tuple[str, ...]
    extra_themes: tuple[tuple[str, tuple[str, ...], str], ...]  # description template, topics, language
    extra_subjects: tuple[str, ...]


@dataclass(frozen=True)
class CommitTables:
    # Message templates: {module} {model} {version}; bodies: {issue}.
    ml_messages: tuple[str, ...]
    ml_modules: tuple[str, ...]
    ml_models: tuple[str, ...]
    message_bodies: tuple[str, ...]
    web_messages: tuple[str, ...]
    game_messages: tuple[str, ...]
    packages: dict[str, tuple[str, ...]]  # language -> dependencies a bot bumps
    unlinked_authors: tuple[tuple[str, str], ...]  # (name, email) of commits linked to no account


def _read(name: str) -> Any:
    return json.loads((WORLD_DATA / f"{name}.json").read_text(encoding="utf-8"))


def _literal(value: Any, kind: Any, where: str) -> Any:
    if value not in get_args(kind):
        raise ValueError(f"data/world: {where} is {value!r}, expected one of {get_args(kind)}")
    return value


def _culture(raw: dict[str, Any]) -> Culture:
    mail: list[str] = []
    for domain, times in raw["freemail"].items():
        mail += [domain] * times
    return Culture(
        key=raw["key"],
        weight=raw["weight"],
        given=tuple(raw["given"]),
        family=tuple(raw["family"]),
        cities=tuple(raw["cities"]),
        freemail=tuple(mail),
        tlds=tuple(raw["tlds"]),
        family_first=raw["family_first"],
    )


def _repo_spec(raw: dict[str, Any]) -> RepoSpec:
    fields: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()}
    fields["theme"] = _literal(raw["theme"], Theme, f"repos[{raw['key']}].theme")
    return RepoSpec(**fields)


@cache
def people_tables() -> PeopleTables:
    raw = _read("people")
    return PeopleTables(
        cultures=tuple(_culture(c) for c in raw["cultures"]),
        transliteration=str.maketrans(raw["transliteration"]),
        global_hubs=tuple(raw["global_hubs"]),
        quirky_locations=tuple(raw["quirky_locations"]),
        login_words=tuple(raw["login_words"]),
        login_adjectives=tuple(raw["login_adjectives"]),
        login_nouns=tuple(raw["login_nouns"]),
        id_curve=tuple((day(when), uid) for when, uid in raw["id_curve"]),
    )


@cache
def account_tables() -> AccountTables:
    raw = _read("accounts")
    return AccountTables(
        bots=tuple(
            Bot(
                login=b["login"],
                uid=b["id"],
                type=_literal(b["type"], AccountType, f"bots[{b['login']}].type"),
                created_at=b["created_at"],
                commit_email=b["commit_email"],
                commit_share=b["commit_share"],
            )
            for b in raw["bots"]
        ),
        companies=tuple(
            Company(c["display"], c["handle"], c["domain"], _literal(c["kind"], CompanyKind, f"{c['display']}.kind"))
            for c in raw["companies"]
        ),
    )


@cache
def profile_tables() -> ProfileTables:
    raw = _read("profiles")
    bios = raw["bios"]
    return ProfileTables(
        universities=tuple(raw["universities"]),
        freelance=tuple(raw["freelance"]),
        ml_topics=tuple(raw["ml_topics"]),
        ml_company_bios=tuple(bios["ml_company"]),
        ml_university_bios=tuple(bios["ml_university"]),
        ml_bios=tuple(bios["ml_any"]),
        web_bios=tuple(bios["web"]),
        noise_bios=tuple(bios["noise"]),
    )


@cache
def repo_tables() -> RepoTables:
    raw = _read("repos")
    extra = raw["extra"]
    return RepoTables(
        licenses=raw["licenses"],
        repos=tuple(_repo_spec(spec) for spec in raw["repos"]),
        priority=tuple(raw["priority"]),
        extra_prefixes=tuple(extra["prefixes"]),
        extra_suffixes=tuple(extra["suffixes"]),
        extra_themes=tuple((t["description"], tuple(t["topics"]), t["language"]) for t in extra["themes"]),
        extra_subjects=tuple(extra["subjects"]),
    )


@cache
def commit_tables() -> CommitTables:
    raw = _read("commits")
    return CommitTables(
        ml_messages=tuple(raw["ml_messages"]),
        ml_modules=tuple(raw["ml_modules"]),
        ml_models=tuple(raw["ml_models"]),
        message_bodies=tuple(raw["message_bodies"]),
        web_messages=tuple(raw["web_messages"]),
        game_messages=tuple(raw["game_messages"]),
        packages={language: tuple(names) for language, names in raw["packages"].items()},
        unlinked_authors=tuple((a["name"], a["email"]) for a in raw["unlinked_authors"]),
    )
