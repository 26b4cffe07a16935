"""RFC 5322 messages built by the email library from validated values, with the compliance footer.

Recipient and sender come from enrichment records and settings, never from generated text; every
header value has CR and LF removed.
"""

from __future__ import annotations

import re
import textwrap
import uuid
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote

from cmo_agent.core.config import Settings
from cmo_agent.core.errors import StateError
from cmo_agent.core.records import Draft, Lead, Provenance
from cmo_agent.core.text import one_line, strip_controls
from cmo_agent.templates import render

_MESSAGE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://cmo-agent.dev/messages")
PLACEHOLDER_SENDER = "sender-not-configured@example.invalid"
PLACEHOLDER_POSTAL = "[postal address not configured: set CMO_POSTAL_ADDRESS]"


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def header_safe(value: str) -> str:
    """`value` on one line: line breaks become spaces; control and bidirectional characters go; and
    `=?` is spaced out, so the email library cannot decode an RFC 2047 encoded word hidden in it."""
    return re.sub(r"\s+", " ", one_line(value).replace("=?", "= ?")).strip()


def display_name(name: str) -> str:
    """A From display name that needs no quoting: RFC 5322 specials become spaces. (The email library
    drops the quotes of a quoted name when it folds a long header, and the name would then read as
    addresses.)"""
    return re.sub(r"\s+", " ", re.sub(r'[()<>\[\]:;@\\,."]', " ", header_safe(name))).strip()


def plain_address(address: str) -> str:
    """`address` if it is a plain ASCII addr-spec (what hygiene keeps), else ValueError: a recipient
    or sender is never text the email library might parse into something else."""
    if not _PLAIN_ADDRESS.fullmatch(address) or "=?" in address or "?=" in address:
        raise ValueError(f"not a plain ASCII address: {address!r}")
    return address


def message_id_for(job_id: str, login: str, sender_email: str, step: int = 0) -> str:
    """A Message-ID that is the same every time for one (job, lead, step)."""
    domain = sender_email.rpartition("@")[2] or "cmo-agent.invalid"
    name = f"{job_id}/{login}" + (f"/{step}" if step else "")
    return f"<{uuid.uuid5(_MESSAGE_NAMESPACE, name)}@{header_safe(domain)}>"


def sender_of(settings: Settings) -> tuple[str, str]:
    """(display name, address) of the configured sender, or an obvious placeholder for outbox drafts."""
    return settings.sender_name or "CMO Agent", settings.sender_email or PLACEHOLDER_SENDER


def recipient_of(lead: Lead) -> str:
    """The lead's address as hygiene normalized it: the only address a message is ever sent to."""
    address = lead.get("address")
    if not address:
        raise StateError(f"lead {lead.get('login')!r} has a draft but no address that passed hygiene")
    return address


def footer(settings: Settings, lead: Lead) -> str:
    """Who writes, the postal address, why this person, where the address came from, how to opt out."""
    name, address = sender_of(settings)
    top_repo = max(lead["repos"], key=lambda repo: (lead["repos"][repo], repo))
    provenance = lead.get("provenance", Provenance())
    if lead.get("email_source") == "commit":
        repo = provenance.get("repo", top_repo)
        origin = f"the author address of commit {provenance.get('sha', '')[:12]} in github.com/{repo}"
    else:
        origin = f"the public email on your GitHub profile (github.com/{lead['login']})"
    return render(
        "email/footer_v1.j2",
        {
            "sender_name": name,
            "sender_email": address,
            "postal_address": settings.postal_address or PLACEHOLDER_POSTAL,
            "why_you": f"you contribute to github.com/{top_repo}.",
            "address_origin": origin + ".",
            "opt_out": settings.unsubscribe_url or f"mailto:{address}?subject=unsubscribe",
        },
    )


def build_message(draft: Draft, lead: Lead, settings: Settings) -> EmailMessage:
    """The message for one draft: headers from validated values, body plus the compliance footer."""
    name, address = sender_of(settings)
    message = EmailMessage()
    message["From"] = Address(display_name=display_name(name), addr_spec=plain_address(address))
    message["To"] = Address(addr_spec=plain_address(recipient_of(lead)))
    message["Subject"] = header_safe(draft["subject"])
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = draft["message_id"]
    if parent := draft.get("in_reply_to"):  # a follow-up: threaded under the first message
        message["In-Reply-To"] = header_safe(parent)
        message["References"] = header_safe(parent)
    mailto = f"mailto:{address}?subject={quote('unsubscribe')}"
    if settings.unsubscribe_url and settings.unsubscribe_url.startswith("https://"):
        message["List-Unsubscribe"] = f"<{header_safe(settings.unsubscribe_url)}>, <{mailto}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        message["List-Unsubscribe"] = f"<{mailto}>"
    text = wrap_paragraphs(strip_controls(draft["body"]).rstrip() + "\n" + footer(settings, lead))
    message.set_content(text, cte="7bit" if text.isascii() else "8bit")
    return message


def wrap_paragraphs(text: str, width: int = 76) -> str:
    """Plain-text mail lines of at most `width` characters (long URLs stay whole)."""
    lines = []
    for line in text.splitlines():
        lines.extend(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""])
    return "\n".join(lines) + "\n"
