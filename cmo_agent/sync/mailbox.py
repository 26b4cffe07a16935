"""The IMAP side of `sync`: new mail in one folder, read without changing anything there.

The folder is opened read-only (EXAMINE) and read with BODY.PEEK, so nothing is marked read,
moved, flagged or deleted. Only messages newer than the last UID seen (under the same UIDVALIDITY)
are fetched, headers first; a body is fetched only for a message whose headers could be about us.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.utils import parseaddr

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from cmo_agent.core.config import Settings
from cmo_agent.core.errors import ConfigError, ServiceError

FETCH_BATCH = 200
BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "bounce", "bounces")


class MailboxUnavailable(ConfigError):
    """The IMAP server cannot be reached or refuses the login: one line, exit code 2, nothing changed."""


class MailboxError(ServiceError):
    """The IMAP server failed in the middle of a sync (what was read is kept; the next sync goes on)."""


@dataclass(frozen=True)
class NewMail:
    """One message newer than the last one seen: its UID, and its bytes (headers only when the
    headers show it cannot concern us)."""

    uid: int
    raw: bytes
    whole: bool


def imap_port(settings: Settings) -> int:
    """IMAP_PORT, or the standard port for IMAP_SECURITY (993 for ssl, 143 otherwise)."""
    return settings.imap_port or (993 if settings.imap_security == "ssl" else 143)


def _tls(settings: Settings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.imap_ca_file)


@contextmanager
def open_mailbox(settings: Settings) -> Iterator[IMAPClient]:
    """A logged-in IMAP connection to IMAP_HOST (MailboxUnavailable, in one line, when it fails)."""
    if not settings.imap_host:
        raise ConfigError("sync needs IMAP_HOST (and IMAP_USERNAME, IMAP_PASSWORD) to read replies and bounces")
    if not settings.imap_username or settings.imap_password is None:
        raise ConfigError("sync needs IMAP_USERNAME and IMAP_PASSWORD")
    security = settings.imap_security
    port = imap_port(settings)
    where = f"{settings.imap_host}:{port}"
    try:
        client = IMAPClient(
            settings.imap_host, port=port, ssl=security == "ssl", ssl_context=_tls(settings), timeout=30
        )
        if security == "starttls":
            client.starttls(_tls(settings))
        client.login(settings.imap_username, settings.imap_password.get_secret_value())
    except LoginError:
        raise MailboxUnavailable(f"IMAP server {where} refused the login for {settings.imap_username!r}") from None
    except (OSError, ssl.SSLError, IMAPClientError) as exc:
        raise MailboxUnavailable(f"cannot reach the IMAP server {where}: {exc or type(exc).__name__}") from None
    try:
        yield client
    finally:
        with suppress(OSError, IMAPClientError):
            client.logout()


def read_new_mail(
    client: IMAPClient, folder: str, after_uid: int, validity: int | None, concerns_us: Callable[[bytes], bool]
) -> tuple[int, list[NewMail]]:
    """(the folder's UIDVALIDITY, the messages after `after_uid`) — all of them when the folder's
    UIDVALIDITY is not `validity` (its UIDs were renumbered). `concerns_us(headers)` decides which
    bodies to fetch."""
    try:
        selected = client.select_folder(folder, readonly=True)
    except IMAPClientError as exc:
        raise MailboxUnavailable(f"cannot open the IMAP folder {folder!r} (IMAP_FOLDER): {exc}") from None
    try:
        current = int(selected[b"UIDVALIDITY"])
        start = after_uid + 1 if current == validity else 1
        uids = sorted(uid for uid in client.search(["UID", f"{start}:*"]) if uid >= start)
        found: list[NewMail] = []
        for first in range(0, len(uids), FETCH_BATCH):
            batch = uids[first : first + FETCH_BATCH]
            headers = client.fetch(batch, ["BODY.PEEK[HEADER]"])
            wanted = [uid for uid in batch if concerns_us(_part(headers.get(uid, {}), b"BODY[HEADER]"))]
            bodies = client.fetch(wanted, ["BODY.PEEK[]"]) if wanted else {}
            for uid in batch:
                if uid in bodies:
                    found.append(NewMail(uid, _part(bodies[uid], b"BODY[]"), whole=True))
                else:
                    found.append(NewMail(uid, _part(headers.get(uid, {}), b"BODY[HEADER]"), whole=False))
        return current, found
    except (OSError, IMAPClientError) as exc:
        raise MailboxError(f"IMAP failed while reading {folder!r}: {exc or type(exc).__name__}") from None


def _part(data: dict[bytes, object], key: bytes) -> bytes:
    value = data.get(key, b"")
    return value if isinstance(value, bytes) else b""


def header_filter(message_ids: set[str], addresses: set[str]) -> Callable[[bytes], bool]:
    """Headers that may concern us: naming one of our Message-IDs, from one of our recipients, a
    delivery report, or from a mail system."""

    def concerns_us(raw: bytes) -> bool:
        headers = message_from_bytes(raw, policy=policy.compat32)
        references = " ".join(str(headers.get(name, "")) for name in ("In-Reply-To", "References")).lower()
        if any(message_id in references for message_id in message_ids):
            return True
        sender = parseaddr(str(headers.get("From", "")))[1].lower()
        if sender in addresses or sender.partition("@")[0] in BOUNCE_SENDERS:
            return True
        return "multipart/report" in str(headers.get("Content-Type", "")).lower()

    return concerns_us
