"""Messages as properties: whatever the subject, sender name or address, no control character and no
extra header line reaches the serialized message, and the lead is its one and only recipient."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.policy import SMTP, Policy, default
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from cmo_agent.core.config import Settings
from cmo_agent.core.errors import StateError
from cmo_agent.core.records import Draft, Lead
from cmo_agent.mail.message import build_message, header_safe, message_id_for
from cmo_agent.stages.hygiene import check_address
from tests.strategies import UNSAFE_ON_ONE_LINE, hostile_text

SENDER = "dana@sender.example"
HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
}
# .eml files in the outbox are written with the default policy, SMTP DATA with the SMTP policy.
POLICIES = [pytest.param(default, id="outbox"), pytest.param(SMTP, id="smtp")]
_HEADER_LINE = re.compile(rb"^([!-9;-~]+):")


def _settings(name: str | None = "Dana Reyes", sender: str = SENDER) -> Settings:
    return Settings(
        CMO_SENDER_EMAIL=sender, CMO_SENDER_NAME=name, CMO_POSTAL_ADDRESS="1 Main St, Springfield", CMO_DATA_DIR="x"
    )


def _message(
    subject: str = "Your work on tensorforge", address: str = "ada@example.org", **sender: Any
) -> EmailMessage:
    settings = _settings(**sender)
    lead = Lead(login="ada", address=address, repos={"lumenlabs/tensorforge": 3}, email_source="profile")
    draft = Draft(
        subject=subject,
        body="Hi Ada,\n\nI saw your commits.\n",
        message_id=message_id_for("job-1", "ada", settings.sender_email or ""),
    )
    return build_message(draft, lead, settings)


def _header_block(message: EmailMessage, policy: Policy) -> bytes:
    return message.as_bytes(policy=policy).replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]


def _assert_no_control_in_headers(message: EmailMessage, policy: Policy) -> EmailMessage:
    """No header value, as a reader parses the serialized message, holds a control, line break or bidi override."""
    parsed = message_from_bytes(message.as_bytes(policy=policy), policy=default)
    for name, value in parsed.items():
        assert not UNSAFE_ON_ONE_LINE.search(str(value)), (name, str(value))
    return parsed


def _assert_only_our_headers(message: EmailMessage, policy: Policy) -> EmailMessage:
    """Every header line is one of ours (or folds one), and no parsed header value holds a control."""
    block = _header_block(message, policy)
    for line in block.split(b"\n"):
        match = _HEADER_LINE.match(line)
        assert line[:1] in (b" ", b"\t") or (match and match.group(1).decode().lower() in HEADERS), line
    parsed = _assert_no_control_in_headers(message, policy)
    assert {name.lower() for name in parsed} <= HEADERS
    return parsed


ascii_hostile_text = hostile_text.map(lambda text: text.encode("ascii", "ignore").decode())


def _no_encoded_word(*texts: str) -> bool:
    """True when no RFC 2047 encoded-word can be formed from the texts once made header-safe."""
    return all("=?" not in header_safe(text) for text in texts)


# header_safe: the one gate every header value passes.


@given(text=hostile_text)
def test_header_safe_leaves_one_trimmed_line_without_controls(text: str) -> None:
    safe = header_safe(text)
    assert not UNSAFE_ON_ONE_LINE.search(safe)
    assert safe == safe.strip() and "  " not in safe
    assert header_safe(safe) == safe


@given(text=st.text(alphabet="abcXYZ019 .,:;@<>[]()'\"\\/=?_-\u00e4\u00df\u4f60\U0001f600", max_size=30))
def test_header_safe_keeps_printable_text_as_it_is(text: str) -> None:
    """It only removes (and spaces out `=?`, which would open an RFC 2047 encoded word): text with
    nothing to remove comes out whitespace-trimmed and otherwise unchanged."""
    assert header_safe(text) == " ".join(text.replace("=?", "= ?").split())


# Raw control characters, line breaks and bidi overrides never reach a header.


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=100)
@given(subject=hostile_text, name=ascii_hostile_text)
def test_raw_controls_in_the_subject_or_sender_name_never_reach_a_header(
    policy: Policy, subject: str, name: str
) -> None:
    """(Non-ASCII sender names have a bug of their own, below.)"""
    assume(_no_encoded_word(subject, name))
    parsed = _assert_only_our_headers(_message(subject, name=name), policy)
    # Folding a long first word may leave a space after "Subject:" (the email library's habit, harmless).
    assert " ".join(parsed["Subject"].split()) == header_safe(subject)
    assert not parsed.get_all("Cc") and not parsed.get_all("Bcc")


# What the email library does with a malformed address (hygiene lets none through): it refuses it.
# An empty address is refused by the product (StateError), anything else by the email library.
_REFUSED = (ValueError, IndexError, AttributeError, HeaderParseError, StateError)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=100)
@given(address=hostile_text)
def test_no_control_character_of_an_address_reaches_a_header(policy: Policy, address: str) -> None:
    assume(_no_encoded_word(address))
    try:
        message = _message(address=address)
    except _REFUSED:
        return
    _assert_no_control_in_headers(message, policy)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=100)
@given(address=hostile_text)
@example(address="x" * 30 + "[a]:b,Bcc:" + "y" * 40 + "[b]\u00df")
def test_arbitrary_address_text_cannot_add_a_header_line(policy: Policy, address: str) -> None:
    assume(_no_encoded_word(address))
    try:
        message = _message(address=address)
    except _REFUSED:
        return
    parsed = _assert_only_our_headers(message, policy)
    assert not parsed.get_all("Cc") and not parsed.get_all("Bcc")


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=200)
@given(subject=hostile_text)
@example(subject="=?utf-8?q?=0D=0ABcc:_evil=40evil.example?=")
def test_an_encoded_word_in_the_subject_cannot_add_a_header(policy: Policy, subject: str) -> None:
    parsed = _assert_only_our_headers(_message(subject), policy)
    assert not parsed.get_all("Cc") and not parsed.get_all("Bcc")


@settings(max_examples=200)
@given(name=hostile_text)
@example(name="=?utf-8?q?=0A?=")
def test_any_sender_name_gives_a_message(name: str) -> None:
    _message(name=name)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=200)
@given(name=hostile_text)
@example(name="D\u00e4na <evil@evil.example>")
def test_the_sender_name_cannot_change_the_from_address(policy: Policy, name: str) -> None:
    assume(_no_encoded_word(name))
    parsed = message_from_bytes(_message(name=name).as_bytes(policy=policy), policy=default)
    try:
        senders = [address.addr_spec for address in parsed["From"].addresses]
    except (AttributeError, IndexError, ValueError) as exc:
        raise AssertionError(f"the From header cannot be read back: {exc!r}") from exc
    assert senders == [SENDER]


# The lead is the one and only recipient: every address hygiene keeps must come back from the To header
# as itself, alone, and be written as itself (RFC 2047 forbids encoded-words in an addr-spec).


def _assembled(local_parts: list[str], domains: list[str]) -> st.SearchStrategy[str]:
    """Addresses assembled from the given pieces (some valid, some not)."""
    local = st.lists(st.sampled_from(local_parts), min_size=1, max_size=6).map("".join)
    return st.tuples(local, st.sampled_from(domains)).map("@".join)


# ASCII dot-atom addresses, the common case.
plain_addresses = st.emails().map(lambda address: check_address(address)[0] or "").filter(str.isascii).filter(bool)
# ASCII addresses whose local part uses atext that spells RFC 2047 ('=', '?', '_' are all allowed).
encoded_word_addresses = _assembled(
    ["=?utf-8?q?", "=?us-ascii?q?", "?=", "=2C", "=40", "=3C", "=0A", "_", "a", "b", "x.y", "+tag"],
    ["example.org", "b.example", "a" * 60 + ".example"],
)
# Internationalized addresses: a non-ASCII local part (SMTPUTF8) or domain (IDN).
international_addresses = _assembled(
    ["a", "b", "x.y", "\u00e4", "\u4f60", "+tag"], ["example.org", "ex\u00e4mple.org", "a.\u6148\u5584"]
).filter(lambda address: not address.isascii())


def _assert_sole_recipient(address: str, policy: Policy) -> None:
    try:
        message = _message(address=address)
    except _REFUSED as exc:
        raise AssertionError(f"build_message refused an address hygiene kept: {exc!r}") from exc
    parsed = _assert_only_our_headers(message, policy)
    recipients = [(a.username, a.domain) for a in parsed["To"].addresses]
    assert recipients == [tuple(address.rsplit("@", 1))]
    assert not parsed.get_all("Cc") and not parsed.get_all("Bcc")
    unfolded = re.sub(rb"\n(?=[ \t])", b"", _header_block(message, policy))
    to_line = next(line for line in unfolded.split(b"\n") if line.lower().startswith(b"to:"))
    assert re.sub(rb"^To:\s+", b"", to_line) == address.encode()


@pytest.mark.parametrize("policy", POLICIES)
@given(address=plain_addresses)
def test_a_plain_address_is_the_one_and_only_recipient(policy: Policy, address: str) -> None:
    _assert_sole_recipient(address, policy)


@settings(max_examples=200)
@given(address=encoded_word_addresses)
@example(address="=?utf-8?q?c=40evil.example=2C?=@b.example")
def test_an_address_spelling_an_encoded_word_is_never_a_recipient(address: str) -> None:
    """Hygiene keeps none (the email library would decode one into other addresses), and
    build_message refuses one outright, should it ever get one."""
    kept = check_address(address)[0]
    assert kept is None or ("=?" not in kept and "?=" not in kept)
    if "=?" in address or "?=" in address:
        with pytest.raises(ValueError, match="not a plain ASCII address"):
            _message(address=address)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=100)
@given(address=international_addresses)
@example(address="\u00e4@example.org")
@example(address="a@ex\u00e4mple.org")
def test_an_internationalized_address_is_kept_only_in_ascii_and_written_as_itself(policy: Policy, address: str) -> None:
    """SMTPUTF8 local parts are refused; an international domain is kept in its ASCII (punycode) form,
    which is the one address on the wire."""
    kept = check_address(address)[0]
    if kept is None:
        assert not address.rpartition("@")[0].isascii() or check_address(address)[1] == "invalid_syntax"
        return
    assert kept.isascii()
    _assert_sole_recipient(kept, policy)


# Message-IDs.


@given(job_id=hostile_text, login=hostile_text, sender=hostile_text)
def test_a_message_id_is_stable_and_one_line(job_id: str, login: str, sender: str) -> None:
    message_id = message_id_for(job_id, login, sender)
    assert message_id == message_id_for(job_id, login, sender)
    assert not UNSAFE_ON_ONE_LINE.search(message_id)
    assert message_id.startswith("<") and message_id.endswith(">")


_LOGINS = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)


@given(sender=plain_addresses, job_id=_LOGINS, logins=st.lists(_LOGINS, min_size=2, max_size=5, unique=True))
def test_each_lead_of_a_job_gets_its_own_message_id_at_the_sender_domain(
    sender: str, job_id: str, logins: list[str]
) -> None:
    ids = [message_id_for(job_id, login, sender) for login in logins]
    assert len(set(ids)) == len(ids)
    domain = re.escape(sender.rpartition("@")[2])
    assert all(re.fullmatch(rf"<[0-9a-f]{{8}}(?:-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}@{domain}>", i) for i in ids)
