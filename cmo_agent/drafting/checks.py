"""Checks on a model's draft before it may become an email: its text is untrusted output.

A draft passes only with a one-line honest subject of bounded length, a plain body of bounded
length, no email address but the sender's, and no link but the pages it was given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from cmo_agent.core.errors import quoted

SUBJECT_CHARS = (3, 120)
BODY_CHARS = (80, 3000)

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_OBFUSCATED_EMAIL = re.compile(
    r"\b[\w.%+-]+\s*(?:\[at\]|\(at\)|\{at\}|\s+at\s+)\s*[\w-]+\s*(?:\[dot\]|\(dot\)|\{dot\}|\s+dot\s+)\s*[a-z]{2,}\b",
    re.IGNORECASE,
)
_TLDS = "com|net|org|io|ai|dev|co|me|app|xyz|info|biz|ly|gg|sh|so|to|ru|cn|tk|top|site|online|link|click|page|us|uk|de"
_URL = re.compile(
    rf"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"'`]+|\b(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?:/[^\s<>\"'`]*)?",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(
    r"^\W*(?:re|fwd?|fw|aw|wg|sv|vs|antw|rif|tr|réf)\s*(?:\[\d+\]|\(\d+\))?\s*\]?\s*:", re.IGNORECASE
)
_HEADER_LINE = re.compile(
    r"^\s*(?:to|cc|bcc|from|reply-to|subject|sender|return-path|content-type)\s*:", re.IGNORECASE | re.MULTILINE
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_MARKUP = re.compile(r"\{\{|\}\}|\{%|%\}|\[(?:first[ _]?name|name|your name|company|recipient)\]", re.IGNORECASE)


def subject_problem(subject: str) -> str | None:
    """Why the subject cannot be used, or None."""
    if re.search(r"[\r\n]", subject) or _CONTROL.search(subject):
        return "subject has a line break or control character"
    if _INVISIBLE.search(subject):
        return "subject has invisible formatting characters"
    length = len(subject.strip())
    if not SUBJECT_CHARS[0] <= length <= SUBJECT_CHARS[1]:
        return f"subject has {length} characters (allowed {SUBJECT_CHARS[0]}–{SUBJECT_CHARS[1]})"
    if _REPLY_PREFIX.match(subject):
        return f"subject pretends to continue a conversation: {quoted(subject, 60)}"
    if _EMAIL.search(subject) or _URL.search(subject):
        return f"subject carries an address or link: {quoted(subject, 60)}"
    if _MARKUP.search(subject):
        return "subject has template markup or a placeholder"
    return None


def _link_allowed(found: str, allowed: Sequence[str]) -> bool:
    url = found.rstrip(".,;:!?)]}'\"")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    target = f"{parts.hostname or ''}{parts.path.rstrip('/')}".lower()
    target = target.removeprefix("www.")
    for page in allowed:
        page_parts = urlsplit(page if "://" in page else "https://" + page)
        base = f"{page_parts.hostname or ''}{page_parts.path.rstrip('/')}".lower().removeprefix("www.")
        if parts.scheme in ("http", "https") and (target == base or target.startswith(base + "/")):
            return True
    return False


def body_problem(body: str, sender_email: str, allowed: Sequence[str]) -> str | None:
    """Why the body cannot be used, or None. `allowed` are the pages it may link to."""
    text = body.replace("\r\n", "\n")
    if _CONTROL.search(text.replace("\n", "").replace("\t", "")):
        return "body has control characters"
    if _INVISIBLE.search(text):
        return "body has invisible formatting characters"
    length = len(text.strip())
    if not BODY_CHARS[0] <= length <= BODY_CHARS[1]:
        return f"body has {length} characters (allowed {BODY_CHARS[0]}–{BODY_CHARS[1]})"
    if match := _HEADER_LINE.search(text):
        return f"body has a header-like line: {quoted(match.group(0).strip(), 60)}"
    if _MARKUP.search(text):
        return "body has template markup or a placeholder"
    strangers = [m.group(0) for m in _EMAIL.finditer(text) if m.group(0).lower() != sender_email.lower()]
    if strangers:
        return f"body names an email address other than the sender's: {quoted(strangers[0], 60)}"
    if match := _OBFUSCATED_EMAIL.search(text):
        return f"body spells out an email address: {quoted(match.group(0), 60)}"
    without_addresses = _EMAIL.sub(" ", text)
    for match in _URL.finditer(without_addresses):
        if not _link_allowed(match.group(0), allowed):
            return f"body links to a page it was not given: {quoted(match.group(0), 60)}"
    return None


def draft_problem(subject: str, body: str, sender_email: str, allowed: Sequence[str]) -> str | None:
    """Why a model's draft must not be used (the first problem found), or None when it may."""
    return subject_problem(subject) or body_problem(body, sender_email, allowed)
