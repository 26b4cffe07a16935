"""Secrets taken out of what the RunState keeps: values under secret-looking keys, URL passwords,
secret parameters and headers, and well-known token formats in text.

Error records (`core.errors.error_record`) keep the input that failed, its message and traceback in
checkpoints and exports; everything they keep passes through here first. (`core.database.redact_url`
does the same for the one checkpoint URL the CLI repeats in its messages.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

_SECRET_WORDS = frozenset(
    [
        "apikey",
        "auth",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "key",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "token",
    ]
)
_SECRET_ENDINGS = ("apikey", "password", "secret", "token")

# scheme://user:password@host: the password goes, the user stays.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*):[^/\s@]+@")
# password=..., access_token=..., api_key=..., in a query string or a connection string.
_SECRET_PARAM = re.compile(
    r"(?i)\b((?:ssl)?password|passwd|pwd|(?:access_|refresh_|id_)?token|api[_-]?key|(?:client_)?secret)=([^&\s\"',;]+)"
)
# Authorization: Bearer ..., as a header line or a repr'd mapping.
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:(bearer|token|basic)\s+)?[^\s'\",}]+"
)
# GitHub tokens (classic and fine-grained) and OpenAI-style keys, wherever they appear.
_KNOWN_TOKEN = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_\-]{20,})")


def is_secret_key(name: str) -> bool:
    """Whether a mapping key names a secret (`token`, `GITHUB_TOKEN`, `apiKey`, `smtp_password`,
    `Authorization`), judged by its words so that `keywords` or `commit_authors` are not."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    words = re.findall(r"[a-z0-9]+", spaced)
    return any(word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS) for word in words)


def redact_text(text: str) -> str:
    """`text` with URL passwords, secret parameters, authorization headers and known token formats masked."""
    text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
    text = _SECRET_PARAM.sub(rf"\1={MASK}", text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + (f"{m.group(2)} " if m.group(2) else "") + MASK, text)
    return _KNOWN_TOKEN.sub(MASK, text)


def redact_secrets(value: Any) -> Any:
    """A JSON-able copy of `value` with secrets masked: any value under a secret-looking key, and
    secrets inside strings (`redact_text`). Other objects become their redacted `str`."""
    if isinstance(value, Mapping):
        return {
            str(key): MASK if is_secret_key(str(key)) and item not in (None, "") else redact_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_secrets(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(value if isinstance(value, str) else str(value))
