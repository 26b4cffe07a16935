"""Checks on a model's draft before it may become an email: its text is untrusted output.

A draft passes only with a one-line honest subject of bounded length, a plain body of bounded
length, no email address but the sender's, and no link but the pages it was given.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from cmo_agent.core.errors import quoted

SUBJECT_CHARS = (3, 120)
BODY_CHARS = (80, 3000)

# Any RFC 5322 addr-spec a mail client would offer as an address: atext or quoted local parts,
# domain names or address literals.
_EMAIL = re.compile(
    r"""(?:[\w.!#$%&'*+/=?^`{|}~-]+|"[^"\r\n]+")@(?:[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}|\[[^\]\s]+\])""", re.IGNORECASE
)
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
_LINE_BREAK = re.compile("[\r\n\x85\u2028\u2029]")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_MARKUP = re.compile(r"\{\{|\}\}|\{%|%\}|\[(?:first[ _]?name|name|your name|company|recipient)\]", re.IGNORECASE)


def subject_problem(subject: str) -> str | None:
    """Why the subject cannot be used, or None."""
    if _LINE_BREAK.search(subject) or _CONTROL.search(subject):
        return "subject has a line break or control character"
    if "=?" in subject:
        return "subject has an RFC 2047 encoded word (=?...?=)"
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
    """Whether a link found in text goes to one of the `allowed` pages, read as a browser reads it:
    a backslash is a slash, `https:host` has slashes, `..` climbs, and a user part hides the host."""
    target = _page_of(found.rstrip(".,;:!?)]}'\""))
    if target is None:
        return False
    for page in allowed:
        base = _page_of(page)
        if base is not None and (target == base or target.startswith(base + "/")):
            return True
    return False


def _page_of(link: str) -> str | None:
    """`host/path` of an http(s) link as a browser would open it, or None when it is no such link."""
    url = link.replace("\\", "/")
    if "://" not in url:
        url = re.sub(r"^(https?):/*", r"\1://", url, flags=re.IGNORECASE) if re.match(r"(?i)https?:", url) else url
        url = url if "://" in url else "https://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # brackets that are no IPv6 literal, a bad port: a malformed link is never allowed
        return None
    if parts.scheme.lower() not in ("http", "https") or "@" in parts.netloc or not host:
        return None
    path = posixpath.normpath(unquote(parts.path)) if parts.path not in ("", "/") else ""
    path = "" if path in (".", "/") else path.rstrip("/")
    return f"{host.lower().removeprefix('www.')}{path.lower()}"


def body_problem(body: str, sender_email: str, allowed: Sequence[str]) -> str | None:
    """Why the body cannot be used, or None. `allowed` are the pages it may link to."""
    text = body.replace("\r\n", "\n")
    if problem := _character_problem(text, "body"):
        return problem
    length = len(text.strip())
    if not BODY_CHARS[0] <= length <= BODY_CHARS[1]:
        return f"body has {length} characters (allowed {BODY_CHARS[0]}–{BODY_CHARS[1]})"
    return text_problem(text, sender_email, allowed, "body")


def _character_problem(text: str, what: str) -> str | None:
    if _CONTROL.search(text.replace("\n", "").replace("\t", "")):
        return f"{what} has control characters"
    if _INVISIBLE.search(text):
        return f"{what} has invisible formatting characters"
    return None


def text_problem(text: str, sender_email: str, allowed: Sequence[str], what: str = "text") -> str | None:
    """Why `text` may not be part of an email body (whatever its length), or None."""
    text = text.replace("\r\n", "\n")
    if problem := _character_problem(text, what):
        return problem
    if match := _HEADER_LINE.search(text):
        return f"{what} has a header-like line: {quoted(match.group(0).strip(), 60)}"
    if _MARKUP.search(text):
        return f"{what} has template markup or a placeholder"
    strangers = [m.group(0) for m in _EMAIL.finditer(text) if m.group(0).lower() != sender_email.lower()]
    if strangers:
        return f"{what} names an email address other than the sender's: {quoted(strangers[0], 60)}"
    if match := _OBFUSCATED_EMAIL.search(text):
        return f"{what} spells out an email address: {quoted(match.group(0), 60)}"
    without_addresses = _EMAIL.sub(" ", text)
    for match in _URL.finditer(without_addresses):
        if not _link_allowed(match.group(0), allowed):
            return f"{what} links to a page it was not given: {quoted(match.group(0), 60)}"
    return None


_TAG = re.compile(r"</?[a-z!][^>]*>", re.IGNORECASE)


def fact_problem(text: str, allowed: Sequence[str]) -> str | None:
    """Why a fact from GitHub (a description, a name) must be left out of an email, or None.

    A fact may carry no email address, no link but the `allowed` pages, no markup, no header-like
    text and no control or invisible characters: the checks a model's draft passes.
    """
    if _CONTROL.search(text) or _LINE_BREAK.search(text) or "\t" in text:
        return "has a line break or control character"
    if "=?" in text:
        return "has an RFC 2047 encoded word (=?...?=)"
    if _INVISIBLE.search(text):
        return "has invisible formatting characters"
    if _MARKUP.search(text) or _TAG.search(text):
        return f"has markup: {quoted(text, 60)}"
    if _HEADER_LINE.search(text):
        return f"reads like a mail header: {quoted(text, 60)}"
    if _EMAIL.search(text) or _OBFUSCATED_EMAIL.search(text):
        return f"names an email address: {quoted(text, 60)}"
    for match in _URL.finditer(text):
        if not _link_allowed(match.group(0), allowed):
            return f"links to a page it was not given: {quoted(match.group(0), 60)}"
    return None


def draft_problem(subject: str, body: str, sender_email: str, allowed: Sequence[str]) -> str | None:
    """Why a model's draft must not be used (the first problem found), or None when it may."""
    return subject_problem(subject) or body_problem(body, sender_email, allowed)
