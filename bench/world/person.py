"""The record of one generated human account, as the other generators fill it in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from bench.world.clock import TAKEN_AT
from bench.world.tables import Company, Culture

NOREPLY_DOMAIN = "users.noreply.github.com"
# GitHub switched to "ID+login@users.noreply.github.com" for accounts made after this date.
NEW_NOREPLY_SINCE = datetime(2017, 7, 18, tzinfo=UTC)

PersonKind = Literal["ml", "web", "noise"]  # noise: accounts that contribute nowhere
# How the profile address is planted: the traps are "noreply", "role" and "invalid".
EmailKind = Literal["null", "public", "noreply", "role", "invalid"]


@dataclass
class Person:
    login: str
    uid: int
    name: str | None
    first: str  # ascii, lower case
    last: str  # ascii, lower case
    culture: Culture
    kind: PersonKind
    weight: float  # how prolific: drives repositories joined and commits made
    created_at: datetime
    dormant: bool = False
    company: Company | None = None
    company_field: str | None = None
    university: str | None = None
    location: str | None = None
    bio: str | None = None
    blog: str = ""
    twitter: str | None = None
    hireable: bool | None = None
    personal_domain: str = ""
    profile_email: str | None = None
    email_kind: EmailKind = "null"
    commit_emails: list[str] = field(default_factory=list)
    updated_at: datetime = TAKEN_AT
    public_repos: int = 0
    public_gists: int = 0
    followers: int = 0
    following: int = 0

    @property
    def display(self) -> str:
        return self.name or self.login

    def noreply(self) -> str:
        """The account's GitHub noreply address, in the form GitHub used when it was created."""
        if self.created_at < NEW_NOREPLY_SINCE and self.uid % 3 == 0:
            return f"{self.login}@{NOREPLY_DOMAIN}"
        return f"{self.uid}+{self.login}@{NOREPLY_DOMAIN}"
