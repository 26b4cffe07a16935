"""Draft and fact checks as properties: control and invisible characters are always refused, a link to
a host the text was not given is always refused, and a subject the checks accept is a safe header."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from email import message_from_bytes
from email.policy import default

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from cmo_agent.core.config import Settings
from cmo_agent.core.records import Draft, Lead
from cmo_agent.drafting.checks import BODY_CHARS, body_problem, fact_problem, subject_problem, text_problem
from cmo_agent.mail.message import build_message, header_safe
from tests.strategies import BIDI_OVERRIDES, C0_C1, LINE_SEPARATORS

SENDER = "dana@sender.example"
ALLOWED = ["https://github.com/ada", "https://github.com/lumenlabs/tensorforge", "https://dana.example"]
ALLOWED_HOSTS = {"github.com", "dana.example"}
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff" + BIDI_OVERRIDES

Checker = Callable[[str, Sequence[str]], str | None]
CHECKERS = [
    pytest.param(fact_problem, id="fact_problem"),
    pytest.param(lambda text, allowed: text_problem(text, SENDER, allowed), id="text_problem"),
]

words = st.lists(st.sampled_from(["Hi", "Ada", "your", "tensor", "work", "is", "neat", ".", ","]), max_size=8).map(
    " ".join
)


# Control and invisible characters are refused wherever they sit.


@given(before=words, after=words, char=st.sampled_from(C0_C1.replace("\t", "") + INVISIBLE))
def test_a_subject_with_a_control_or_invisible_character_is_refused(before: str, after: str, char: str) -> None:
    assert subject_problem(f"{before}{char}{after} work") is not None


@given(
    body=st.text(alphabet="abc xyz,\n\t", min_size=BODY_CHARS[0] + 10, max_size=200),
    where=st.integers(0, 200),
    char=st.sampled_from(C0_C1.replace("\n", "").replace("\t", "").replace("\r", "") + INVISIBLE),
)
def test_a_body_with_a_control_or_invisible_character_is_refused(body: str, where: int, char: str) -> None:
    assume(len(body.strip()) >= BODY_CHARS[0])
    assert body_problem(body, SENDER, ALLOWED) is None
    assert body_problem(body[:where] + char + body[where:], SENDER, ALLOWED) is not None


@given(before=words, after=words, char=st.sampled_from(C0_C1 + INVISIBLE))
def test_a_fact_with_a_control_or_invisible_character_is_refused(before: str, after: str, char: str) -> None:
    assert fact_problem(f"{before}{char}{after}", ALLOWED) is not None


@pytest.mark.parametrize("check", [subject_problem, lambda text: fact_problem(text, ALLOWED)], ids=["subject", "fact"])
@given(before=words, after=words, char=st.sampled_from(LINE_SEPARATORS))
@example(before="", after="", char="\u2028")
def test_a_subject_or_fact_with_a_unicode_line_separator_is_refused(
    check: Callable[[str], str | None], before: str, after: str, char: str
) -> None:
    assert check(f"{before} tensor{char}forge {after}") is not None


# A subject the checks accept is a safe header.

subject_pieces = st.sampled_from(
    ["=?utf-8?q?", "=?utf-8?b?", "?=", "=0D", "=0A", "=2C", "=40", "_", "Bcc:", "Hi", "work", " ", "[/x]", "\u00e4"]
)
subjects = st.lists(subject_pieces, min_size=1, max_size=10).map("".join)
HEADERS = {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"}
HEADERS |= {"content-type", "content-transfer-encoding", "mime-version"}


@given(subject=subjects)
def test_an_accepted_subject_is_one_short_line_of_visible_text(subject: str) -> None:
    assume(subject_problem(subject) is None)
    assert not re.search(f"[{re.escape(C0_C1 + LINE_SEPARATORS + INVISIBLE)}]", subject)
    assert 3 <= len(subject.strip()) <= 120


@settings(max_examples=200)
@given(subject=subjects)
@example(subject="=?utf-8?q?Hi=0D=0ABcc:_evil=40evil.example?=")
def test_an_accepted_subject_cannot_add_a_header(subject: str) -> None:
    assume(subject_problem(subject) is None)
    settings = Settings(CMO_SENDER_EMAIL=SENDER, CMO_SENDER_NAME="Dana", CMO_DATA_DIR="x")
    lead = Lead(login="ada", address="ada@example.org", repos={"lumenlabs/tensorforge": 3})
    draft = Draft(subject=subject, body="Hi Ada,\n", message_id="<1@sender.example>")
    parsed = message_from_bytes(build_message(draft, lead, settings).as_bytes(), policy=default)
    assert {name.lower() for name in parsed} <= HEADERS
    assert " ".join(str(parsed["Subject"]).split()) == header_safe(subject)


# Links: a URL whose host (as a browser reads it) is not one of the allowed pages' is refused.

_labels = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
hosts = st.tuples(
    st.sampled_from(["", "www."]),
    st.lists(_labels, min_size=1, max_size=3).map(".".join),
    st.sampled_from(["com", "org", "io", "dev", "example", "museum", "github.com"]),
    st.booleans(),
).map(lambda p: (p[0] + p[1] + "." + p[2]).upper() if p[3] else p[0] + p[1] + "." + p[2])
_tricky = ["@", "github.com", "/ada", "dana.example", "x", "%2F", "..", ":", ".", "?", "#", "/"]
userinfo = st.lists(st.sampled_from(["github.com", "dana.example", "x", ":", ".", "@"]), max_size=4).map("".join)
tails = st.lists(st.sampled_from([*_tricky, "\\"]), max_size=6).map("".join)


def _url(scheme: str, user: str, host: str, port: int | None, delimiter: str, tail: str) -> str:
    """An http(s) URL whose host is `host` for a WHATWG (browser) parser: the authority ends at the first
    '/', '?', '#' or (for http and https) '\\', and the userinfo is what comes before its last '@'."""
    return f"{scheme}://{user + '@' if user else ''}{host}{f':{port}' if port else ''}{delimiter and delimiter + tail}"


urls = st.builds(
    _url,
    st.sampled_from(["http", "https", "HTTPS"]),
    userinfo,
    hosts,
    st.none() | st.integers(1, 65535),
    st.sampled_from(["", "/", "?", "#"]),
    tails,
)


def _host(url: str) -> str:
    """The host of a URL built by `_url`, as a browser reads it."""
    authority = re.split(r"[/?#\\]", url.split("://", 1)[1], maxsplit=1)[0]
    return re.sub(r":\d*$", "", authority.rpartition("@")[2]).lower()


@pytest.mark.parametrize("check", CHECKERS)
@settings(max_examples=200)
@given(url=urls, before=words, after=words)
def test_a_link_to_a_host_that_was_not_given_is_refused(check: Checker, url: str, before: str, after: str) -> None:
    assume(_host(url).removeprefix("www.") not in ALLOWED_HOSTS)
    assert check(f"{before} {url} {after}", ALLOWED) is not None


@pytest.mark.parametrize("check", CHECKERS)
@given(page=st.sampled_from(ALLOWED), tail=st.sampled_from(["", "/", "/issues", "/issues/1", "#readme", "?tab=1"]))
def test_a_link_to_a_page_that_was_given_is_accepted(check: Checker, page: str, tail: str) -> None:
    """The counterpart, so that refusing every link would not pass for safety."""
    assert check(f"See {page}{tail} for the details.", ALLOWED) is None


@pytest.mark.parametrize("check", CHECKERS)
@settings(max_examples=300)
@given(host=hosts, tail=tails)
@example(host="evil.example", tail="@github.com/ada")
def test_a_backslash_after_the_host_does_not_hide_it(check: Checker, host: str, tail: str) -> None:
    url = f"https://{host}\\{tail}"
    assume(_host(url).removeprefix("www.") not in ALLOWED_HOSTS)
    assert check(f"see {url} now", ALLOWED) is not None


# Email addresses: none but the sender's.

_local_parts = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,10}[A-Za-z0-9])?", fullmatch=True)
common_addresses = st.tuples(_local_parts, hosts).map("@".join)


@pytest.mark.parametrize("check", CHECKERS)
@given(address=common_addresses, before=words, after=words)
def test_an_email_address_other_than_the_senders_is_refused(
    check: Checker, address: str, before: str, after: str
) -> None:
    assume(address.lower() != SENDER)
    assert check(f"{before} {address} {after}", ALLOWED) is not None


@pytest.mark.parametrize("check", CHECKERS)
@settings(max_examples=300)
@given(address=st.emails(), before=words, after=words)
@example(address="#@evil.museum", before="write", after="")
def test_any_valid_email_address_is_refused(check: Checker, address: str, before: str, after: str) -> None:
    assume(address.lower() != SENDER)
    assert check(f"{before} {address} {after}", ALLOWED) is not None
