"""The SMTP stand-in's hang-ups, seen from the standard library's client: where the connection
drops, what the client gets, and whether the message was taken."""

from __future__ import annotations

import smtplib

import pytest

from tests.loopback.smtp_server import HangUpStep, SmtpStandIn

pytestmark = pytest.mark.e2e

MESSAGE = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\n\r\nHello.\r\n"


def _transaction(smtp: SmtpStandIn) -> list[str]:
    """One transaction and a NOOP, as far as it goes: the steps that were answered, then `lost`."""
    done: list[str] = []
    try:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=5)
        done.append("greeting")
        client.ehlo()
        done.append("ehlo")
        client.mail("a@example.com")
        done.append("mail")
        client.rcpt("b@example.com")
        done.append("rcpt")
        client.data(MESSAGE)
        done.append("message")
        client.noop()
        done.append("noop")
        client.quit()
    except smtplib.SMTPServerDisconnected:
        done.append("lost")
    return done


@pytest.mark.parametrize(
    ("step", "answered", "accepted"),
    [
        ("connect", [], 0),
        ("ehlo", ["greeting"], 0),
        ("mail", ["greeting", "ehlo"], 0),
        ("rcpt", ["greeting", "ehlo", "mail"], 0),
        ("data", ["greeting", "ehlo", "mail", "rcpt"], 0),
        ("message", ["greeting", "ehlo", "mail", "rcpt"], 1),
        ("after_message", ["greeting", "ehlo", "mail", "rcpt", "message"], 1),
    ],
)
def test_the_server_hangs_up_where_it_is_told(
    smtp: SmtpStandIn, step: HangUpStep, answered: list[str], accepted: int
) -> None:
    smtp.hang_up_at(step)
    assert _transaction(smtp) == [*answered, "lost"]
    assert smtp.hung_up == [step] and smtp.count() == accepted
    assert _transaction(smtp)[-1] == "noop", "once used up, the plan leaves sessions alone"


def test_skip_lets_sessions_pass_before_hanging_up_times_in_a_row(smtp: SmtpStandIn) -> None:
    smtp.hang_up_at("mail", times=2, skip=1)
    outcomes = [_transaction(smtp)[-1] for _ in range(4)]
    assert outcomes == ["noop", "lost", "lost", "noop"]
    assert smtp.hung_up == ["mail", "mail"] and smtp.count() == 2
