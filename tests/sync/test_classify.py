"""Each kind of incoming mail is read as what it is, for the message of ours it answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmo_agent.sync.classify import Outbound, Sent, Unparsed, classify, parse, reply_text
from tests.sync import messages as m

OURS = Sent(job_id="job-1", login="ada", message_id=m.OUR_ID, address=m.LEAD, subject=m.SUBJECT)
OUTBOUND = Outbound([OURS, Sent("job-1", "bob", "<other@example.com>", "bob@example.org", "Another subject")])


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (m.reply, "reply"),
        (m.reply_without_references, "reply"),
        (m.auto_reply, "auto_reply"),
        (m.out_of_office_by_subject, "auto_reply"),
        (m.unsubscribe_by_mailto, "unsubscribe"),
        (m.unsubscribe_in_reply, "unsubscribe"),
        (m.hard_bounce, "hard_bounce"),
        (m.soft_bounce, "soft_bounce"),
    ],
)
def test_each_kind_is_read_for_the_message_it_answers(make: Callable[[], bytes], kind: str) -> None:
    found = classify(parse(make()), OUTBOUND)
    assert found.kind == kind
    assert found.sent == OURS
    assert found.received_at == "2026-11-27T10:00:00+00:00"


@pytest.mark.parametrize("make", [m.unrelated, m.reply_from_a_stranger_naming_our_subject])
def test_mail_about_nothing_of_ours_is_unrelated(make: Callable[[], bytes]) -> None:
    found = classify(parse(make()), OUTBOUND)
    assert found.kind == "unrelated" and found.sent is None


def test_a_reply_keeps_its_own_words_without_the_quote() -> None:
    found = classify(parse(m.reply()), OUTBOUND)
    assert found.detail == "Happy to talk, how about Tuesday?"
    assert "I saw your commits" not in reply_text(parse(m.reply()))


def test_bounces_say_their_status() -> None:
    assert classify(parse(m.hard_bounce()), OUTBOUND).detail == "5.1.1 failed"
    assert classify(parse(m.soft_bounce()), OUTBOUND).detail == "4.2.2 delayed"


def test_a_bounce_is_never_an_auto_reply_and_an_auto_reply_never_a_reply() -> None:
    # Both carry Auto-Submitted and reference our message; the bounce check comes first.
    assert classify(parse(m.hard_bounce()), OUTBOUND).kind == "hard_bounce"
    assert classify(parse(m.auto_reply()), OUTBOUND).kind == "auto_reply"


def test_a_bounce_for_someone_we_never_wrote_to_points_at_nothing() -> None:
    raw = m.hard_bounce().replace(m.OUR_ID.encode(), b"<not-ours@example.com>").replace(b"ada@example.org", b"x@y.org")
    found = classify(parse(raw), OUTBOUND)
    assert found.sent is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"", "empty"), (m.GARBAGE, "no From header"), (m.TRUNCATED, "truncated: the headers never end")],
)
def test_garbage_is_unparsed_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(Unparsed) as caught:
        parse(raw)
    assert caught.value.reason == reason


_header_lines = st.lists(
    st.sampled_from(
        [
            b"From: ada@example.org",
            b"From: <>",
            b"Subject: Re: Your work on tensorforge",
            b"Subject: =?utf-8?q?=0D=0A?=",
            b"In-Reply-To: <3f1c2a9e-1111-5222-8333-944455556666@example.com>",
            b"References: <<<>>>",
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=x",
            b"Content-Type: message/delivery-status",
            b"Auto-Submitted: auto-replied",
            b"Date: not a date",
            b"--x",
            b"Final-Recipient: rfc822; ada@example.org",
            b"Status: 5.1.1",
            b"",
        ]
    ),
    max_size=14,
)


@settings(max_examples=300, deadline=None)
@given(lines=_header_lines, noise=st.binary(max_size=60))
def test_no_message_however_broken_raises_anything_but_unparsed(lines: list[bytes], noise: bytes) -> None:
    raw = b"\r\n".join(lines) + b"\r\n\r\n" + noise
    try:
        message = parse(raw)
    except Unparsed:
        return
    assert classify(message, OUTBOUND).kind in (
        "reply",
        "auto_reply",
        "hard_bounce",
        "soft_bounce",
        "unsubscribe",
        "unrelated",
    )
