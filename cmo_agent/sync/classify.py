"""What an incoming message means for a campaign: a reply, an auto-reply, a bounce, an unsubscribe
request, or nothing of ours.

Everything in a message is untrusted data. It can only point at a message we sent (by its
Message-ID) or at an address we sent to; it never names a recipient, a job or a lead by itself.

Order of the checks, first match wins:
1. a delivery-status report (RFC 3464), or a bounce `flufl.bounce` recognises: `hard_bounce` for a
   permanent failure (5.x.x, `Action: failed`), `soft_bounce` for a delay (4.x.x, `Action: delayed`);
2. a message that is not about one of ours (no Message-ID of ours in `In-Reply-To`/`References`,
   and not from an address we wrote to with a reply prefix and our subject, nor a request to
   unsubscribe from it): `unrelated`;
3. an automatic answer (`Auto-Submitted`, `X-Autoreply`, `Precedence: auto_reply`, out-of-office
   subjects in the common languages): `auto_reply` — never a reply, never a bounce;
4. a request to stop (our `List-Unsubscribe` mailto subject, or words like "unsubscribe" and
   "remove me" in the reply's own text): `unsubscribe`;
5. anything else about one of ours: `reply`, with the reply's own text (quotes and signature
   stripped by `mailparser_reply`) kept short.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from typing import Literal

from flufl.bounce import all_failures
from mailparser_reply import EmailReplyParser

from cmo_agent.core.errors import CmoError
from cmo_agent.core.text import one_line

Kind = Literal["reply", "auto_reply", "hard_bounce", "soft_bounce", "unsubscribe", "unrelated"]

EXCERPT_CHARS = 280
REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|antw|odp|ynt|res|rif|r|răs|atb|tr|fw|fwd|wg)\s*(\[\d+\])?\s*:\s*)+", re.I)
OUT_OF_OFFICE = re.compile(
    r"out of (the )?office|automatic reply|auto[- ]?reply|autoreply|away from (the |my )?office|on vacation|"
    r"abwesenheitsnotiz|automatische antwort|nicht im büro|"
    r"réponse automatique|absence du bureau|absent du bureau|"
    r"respuesta automática|fuera de la oficina|ausente|"
    r"risposta automatica|fuori sede|fuori ufficio|"
    r"automatisch antwoord|afwezig|"
    r"automatiskt svar|frånvaro|autosvar|fraværende|poissa|"
    r"resposta automática|ausência|"
    r"automatyczna odpowiedź|poza biurem|"
    r"自动回复|自動応答|不在",
    re.I,
)
STOP_WORDS = re.compile(
    r"\bunsubscribe\b|\bremove me\b|\btake me off\b|\bstop (e-?mailing|sending|contacting|writing)\b|"
    r"\bdo not (e-?mail|contact|write)\b|\bdon'?t (e-?mail|contact|write)\b|\bopt[- ]?out\b|"
    r"\babmelden\b|\bnicht mehr (kontaktieren|anschreiben|schreiben)\b|"
    r"\bdésabonner\b|\bdésinscri|\bne plus (me )?(contacter|écrire)\b|"
    r"\bdarme de baja\b|\bdarse de baja\b|\bno me (contacte|escriba)|"
    r"\bcancellami\b|\bdisiscrivi|\bnon contattarmi\b|"
    r"\bafmelden\b|\buitschrijven\b|"
    r"\bdescadastrar\b|\bnão me (contate|envie)|"
    r"\bavregistrera\b|\bavmeld\b|"
    r"\bwypisz\b",
    re.I,
)
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_REPLY_PARSER = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "sv", "pl", "pt"])


@dataclass(frozen=True)
class Sent:
    """A message we sent: what an incoming one may point back at."""

    job_id: str
    login: str
    message_id: str
    address: str
    subject: str = ""


@dataclass(frozen=True)
class Classified:
    """What a message means, and for which message of ours (None for `unrelated`)."""

    kind: Kind
    sent: Sent | None = None
    detail: str = ""
    """The DSN status, the auto-reply's or stop request's sign, or the reply's own first words."""
    received_at: str | None = None


class Outbound:
    """Our sent messages, looked up by Message-ID and by recipient address.

    `subjects(job_id)` gives a job's subjects by login when a message has none of its own; it is
    asked only for a reply that lost its references, once per job.
    """

    def __init__(self, sent: Iterable[Sent], subjects: Callable[[str], Mapping[str, str]] | None = None) -> None:
        self._subjects = subjects
        self._subject_cache: dict[str, Mapping[str, str]] = {}
        self.by_id: dict[str, Sent] = {}
        self.by_address: dict[str, list[Sent]] = {}
        self._by_lead: dict[tuple[str, str], Sent] = {}
        for item in sent:
            self.by_id[_norm_id(item.message_id)] = item
            self.by_address.setdefault(item.address.lower(), []).append(item)
            self._by_lead[(item.job_id, item.login)] = item

    def referenced(self, message: Message) -> Sent | None:
        """Ours that `message` names in In-Reply-To or References (the nearest first)."""
        ids = _ids(message.get_all("In-Reply-To", [])) + list(reversed(_ids(message.get_all("References", []))))
        return next((self.by_id[i] for i in ids if i in self.by_id), None)

    def to(self, address: str) -> list[Sent]:
        return self.by_address.get(address.lower(), [])

    def subject(self, sent: Sent) -> str:
        if sent.subject or self._subjects is None:
            return sent.subject
        if sent.job_id not in self._subject_cache:
            self._subject_cache[sent.job_id] = self._subjects(sent.job_id)
        return self._subject_cache[sent.job_id].get(sent.login, "")

    def of(self, job_id: str, login: str) -> Sent | None:
        """A message of `job_id` to `login` (the ledger keeps one per lead and step: the first email and
        its follow-ups, all to the same address)."""
        return self._by_lead.get((job_id, login))


class Unparsed(CmoError):
    """Bytes that are not a message we can read; `reason` says why. Counted, never fatal."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse(raw: bytes) -> Message:
    """`raw` as a message; Unparsed when it is empty, cut off inside its headers, or has no sender."""
    if not raw.strip():
        raise Unparsed("empty")
    if b"\r\n\r\n" not in raw and b"\n\n" not in raw:
        raise Unparsed("truncated: the headers never end")
    message = message_from_bytes(raw, policy=policy.default)
    if not _header(message, "From").strip():
        raise Unparsed("no From header")
    return message


def classify(message: Message, outbound: Outbound) -> Classified:
    """The meaning of `message` for our campaigns (see the module docstring)."""
    received = _date(message)
    bounce = _bounce(message, outbound)
    if bounce is not None:
        kind, sent, status = bounce
        return Classified(kind, sent, status, received)
    sent = _ours(message, outbound)
    if sent is None:
        return Classified("unrelated", received_at=received)
    if sign := _automatic(message):
        return Classified("auto_reply", sent, sign, received)
    if _header(message, "Subject").strip().lower() == "unsubscribe":
        return Classified("unsubscribe", sent, "subject: unsubscribe", received)
    text = reply_text(message)
    if (stop := STOP_WORDS.search(text)) is not None:
        return Classified("unsubscribe", sent, _excerpt(f"asks {stop.group(0).lower()!r}: {text}"), received)
    return Classified("reply", sent, _excerpt(text), received)


def reply_text(message: Message) -> str:
    """The message's own words: its plain-text body without quoted history and signature."""
    body = _plain_body(message)
    if not body.strip():
        return ""
    try:
        return str(_REPLY_PARSER.parse_reply(text=body)).strip()
    except Exception:  # the parser is a heuristic over untrusted text: keep the body itself then
        return body.strip()


def _ours(message: Message, outbound: Outbound) -> Sent | None:
    """The message of ours `message` answers: by its references, else (a client that dropped them)
    by its sender being one of our recipients with a reply prefix and our subject, or asking to
    unsubscribe."""
    if (sent := outbound.referenced(message)) is not None:
        return sent
    sender = parseaddr(_header(message, "From"))[1]
    candidates = outbound.to(sender) if sender else []
    if not candidates:
        return None
    subject = _header(message, "Subject")
    if subject.strip().lower() == "unsubscribe":
        return candidates[-1]
    if REPLY_PREFIX.match(subject):
        original = REPLY_PREFIX.sub("", subject).strip().lower()
        for sent in reversed(candidates):
            subject = outbound.subject(sent)
            if subject and subject.strip().lower() == original:
                return sent
    return None


def _automatic(message: Message) -> str | None:
    """Why `message` is an automatic answer, or None."""
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {one_line(auto)[:40]}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if message.get(name) is not None:
            return name
    if _header(message, "Precedence").strip().lower() == "auto_reply":
        return "Precedence: auto_reply"
    if (match := OUT_OF_OFFICE.search(_header(message, "Subject"))) is not None:
        return f"subject says {match.group(0).lower()!r}"
    return None


def _bounce(message: Message, outbound: Outbound) -> tuple[Kind, Sent | None, str] | None:
    """(hard_bounce or soft_bounce, the message of ours that bounced, its status) for a bounce."""
    reports = _delivery_status(message)
    if reports:
        # One report may name several recipients; ours is the one we wrote to.
        for recipient, action, status in reports:
            sent = _bounced_message(message, outbound, recipient)
            if sent is None:
                continue
            permanent = action == "failed" or status.startswith("5")
            delayed = action == "delayed" or status.startswith("4")
            if permanent or delayed:
                detail = " ".join(part for part in (status, action) if part)
                return ("hard_bounce" if permanent else "soft_bounce"), sent, detail
        return ("hard_bounce", None, "delivery-status report for no recipient of ours") if _is_dsn(message) else None
    try:
        temporary, hard = all_failures(message)
    except Exception:  # a heuristic over untrusted structure: no bounce recognised
        return None
    failures: tuple[tuple[Kind, frozenset[bytes]], ...] = (("hard_bounce", hard), ("soft_bounce", temporary))
    for kind, found in failures:
        for raw in sorted(found):
            sent = _bounced_message(message, outbound, raw.decode("utf-8", "replace"))
            if sent is not None:
                return kind, sent, "recognised by flufl.bounce"
    return None


def _bounced_message(message: Message, outbound: Outbound, recipient: str) -> Sent | None:
    """Ours that bounced: the returned headers' Message-ID, else the failed recipient."""
    for part in message.walk():
        if part.get_content_type() in ("text/rfc822-headers", "message/rfc822"):
            returned = part.get_payload(0) if part.is_multipart() else None
            ids = _ids([returned.get("Message-ID", "")]) if isinstance(returned, Message) else []
            if not ids and not part.is_multipart():
                found = re.search(r"(?im)^message-id:\s*(<[^>\r\n]+>)", str(part.get_payload()))
                ids = [_norm_id(found.group(1))] if found else []
            for message_id in ids:
                if message_id in outbound.by_id:
                    return outbound.by_id[message_id]
    sent = outbound.to(recipient)
    return sent[-1] if sent else None


def _delivery_status(message: Message) -> list[tuple[str, str, str]]:
    """(recipient, action, status) for each recipient of a delivery-status report."""
    found = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        groups = payload if isinstance(payload, list) else []
        for group in groups[1:] if len(groups) > 1 else groups:  # the first group is per-message
            if not isinstance(group, Message):
                continue
            recipient = _dsn_address(group.get("Final-Recipient", "") or group.get("Original-Recipient", ""))
            action = group.get("Action", "").strip().lower()
            match = _STATUS.search(group.get("Status", "") or group.get("Diagnostic-Code", ""))
            if recipient:
                found.append((recipient, action, match.group(0) if match else ""))
    return found


def _is_dsn(message: Message) -> bool:
    return message.get_content_type() == "multipart/report" and message.get_param("report-type") == "delivery-status"


def _dsn_address(field: str) -> str:
    """`rfc822; ada@example.org` → `ada@example.org`."""
    return field.partition(";")[2].strip().strip("<>") if ";" in field else field.strip().strip("<>")


def _plain_body(message: Message) -> str:
    part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), None)
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(part.get_content_charset() or "utf-8", "replace")


def _header(message: Message, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # a header the library cannot decode is no header
        return ""


def _ids(values: Iterable[object]) -> list[str]:
    return [_norm_id(found) for value in values for found in re.findall(r"<[^<>\s]+>", str(value))]


def _norm_id(message_id: str) -> str:
    return message_id.strip().lower()


def _date(message: Message) -> str | None:
    try:
        return parsedate_to_datetime(_header(message, "Date")).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _excerpt(text: str) -> str:
    return one_line(text)[:EXCERPT_CHARS]
