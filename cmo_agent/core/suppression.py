"""The global do-not-contact list, in the checkpoint database: addresses, or `@domain` for a whole
domain, compared case-insensitively, and GitHub accounts (`github:<login>`, `github-id:<account id>`),
so a person who changes address stays suppressed. Every job and every send consults it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from cmo_agent.core.config import Settings
from cmo_agent.core.database import Database, open_database
from cmo_agent.core.errors import ConfigError, quoted, utc_now


@dataclass(frozen=True)
class Suppression:
    entry: str
    reason: str
    source: str
    added_at: str


GITHUB_PREFIX = "github:"
GITHUB_ID_PREFIX = "github-id:"
_LOGIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38})")
"""A GitHub login, lowercased: up to 39 letters, digits and hyphens, not starting with a hyphen."""


def identity_entries(login: str | None, account_id: int | None) -> list[str]:
    """The list entries that name a GitHub account: `github-id:<id>` (survives a rename) and `github:<login>`."""
    found = [f"{GITHUB_ID_PREFIX}{account_id}"] if account_id is not None and account_id > 0 else []
    if login and _LOGIN.fullmatch(login.lower()):
        found.append(f"{GITHUB_PREFIX}{login.lower()}")
    return found


def normalize_entry(text: str) -> str:
    """A list entry: a lowercased address, or `@domain`, in ASCII form (an international domain as
    punycode, as hygiene keeps addresses), or a GitHub account (`github:LOGIN` lowercased,
    `github-id:N`); raises ValueError when it is none of these."""
    value = text.strip()
    prefix, _, rest = value.partition(":")
    if prefix.lower() == GITHUB_PREFIX[:-1] and "@" not in value:
        if not _LOGIN.fullmatch(rest.strip().lower()):
            raise ValueError(f"not a GitHub login: {text!r} (letters, digits and hyphens, at most 39)")
        return f"{GITHUB_PREFIX}{rest.strip().lower()}"
    if prefix.lower() == GITHUB_ID_PREFIX[:-1] and "@" not in value:
        if not rest.strip().isascii() or not rest.strip().isdigit() or int(rest) < 1 or len(rest.strip()) > 19:
            raise ValueError(f"not a GitHub account id: {text!r} (a positive number)")
        return f"{GITHUB_ID_PREFIX}{int(rest)}"
    if value.startswith("@"):
        try:
            validated = validate_email(f"x{value}", check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValueError(f"not a domain: {text!r}") from exc
        return f"@{(validated.ascii_domain or validated.domain).lower()}"
    try:
        validated = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address: {text!r} ({exc})") from exc
    if validated.ascii_email:
        return validated.ascii_email.lower()
    return validated.normalized.lower()


_HEADER_CELL = re.compile(r"(?i)^\s*(e-?mail|mail|address|e-?mail address|entry|domain)s?\s*$")


def entries_from_file(text: str) -> list[str]:
    """Entries of an imported list: one per line, or CSV whose rows name an address in some column.

    Blank lines, `#` comments and a header row (the first row, naming an email or address column)
    are skipped. Any other row without an address, or with a malformed one, stops the import with
    its line number, so nothing is half-imported by mistake.
    """
    found = []
    seen_row = False
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        first_row, seen_row = not seen_row, True
        candidate = next((cell for cell in cells if "@" in cell or cell.lower().startswith("github")), None)
        if candidate is None:
            if first_row and any(_HEADER_CELL.match(cell) for cell in cells):
                continue
            raise ConfigError(f"line {number}: no address or @domain in {quoted(','.join(cells), 80)}")
        try:
            found.append(normalize_entry(candidate))
        except ValueError as exc:
            raise ConfigError(f"line {number}: {exc}") from exc
    return found


class SuppressionList:
    """Reads and writes the list (`cmo_suppressions`, from `core/migrations.py`); `suppressed()`
    answers for many addresses in one query."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, entries: Iterable[str], reason: str = "manual", source: str = "cli") -> int:
        """Add normalized entries; returns how many were new."""
        added = 0
        for entry in dict.fromkeys(entries):
            rows = self._db.execute(
                "INSERT INTO cmo_suppressions (entry, reason, source, added_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (entry) DO NOTHING RETURNING entry",
                [entry, reason, source, utc_now()],
            )
            added += len(rows)
        return added

    def remove(self, entries: Iterable[str]) -> int:
        """Remove entries; returns how many were there."""
        removed = 0
        for entry in dict.fromkeys(entries):
            removed += len(self._db.execute("DELETE FROM cmo_suppressions WHERE entry = ? RETURNING entry", [entry]))
        return removed

    def entries(self) -> list[Suppression]:
        rows = self._db.execute("SELECT entry, reason, source, added_at FROM cmo_suppressions ORDER BY entry")
        return [Suppression(*row) for row in rows]

    def add_person(
        self, address: str | None, login: str | None, account_id: int | None, reason: str, source: str
    ) -> int:
        """Suppress a person: their address (lowercased) and their GitHub account (id and login), so a
        new address of theirs is suppressed too; returns how many entries were new."""
        entries = ([address.lower()] if address else []) + identity_entries(login, account_id)
        return self.add(entries, reason=reason, source=source)

    def suppressed_person(
        self, address: str | None, logins: Iterable[str], account_ids: Iterable[int | None]
    ) -> str | None:
        """The entry that suppresses this person (their address or its domain, any of their logins or
        account ids), or None."""
        if address and (listed := self.suppressed([address]).get(address)):
            return listed
        keys = [key for login in logins for key in identity_entries(login, None)]
        keys += [key for account in account_ids for key in identity_entries(None, account)]
        return next(iter(self.listed(keys)), None)

    def listed(self, entries: Iterable[str]) -> list[str]:
        """Those of these exact entries (normalized) that are on the list, in the order given."""
        wanted = list(dict.fromkeys(entries))
        matched: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            placeholders = ", ".join("?" for _ in chunk)
            sql = f"SELECT entry FROM cmo_suppressions WHERE entry IN ({placeholders})"  # noqa: S608 (placeholders only)
            matched |= {row[0] for row in self._db.execute(sql, chunk)}
        return [entry for entry in wanted if entry in matched]

    def suppressed(self, addresses: Iterable[str]) -> dict[str, str]:
        """The given addresses that are on the list (themselves or their domain), with the entry that matched."""
        wanted = {address: address.lower() for address in addresses}
        keys = set(wanted.values()) | {"@" + a.rpartition("@")[2] for a in wanted.values()}
        matched = set(self.listed(sorted(keys)))
        found = {}
        for address, lowered in wanted.items():
            domain = "@" + lowered.rpartition("@")[2]
            if lowered in matched or domain in matched:
                found[address] = lowered if lowered in matched else domain
        return found


@contextmanager
def open_suppressions(settings: Settings, create: bool = True) -> Iterator[SuppressionList]:
    """The suppression list in the settings' checkpoint database (`create=False`: never creates it)."""
    with open_database(settings.resolved_checkpoint_url(), create=create) as db:
        yield SuppressionList(db)
