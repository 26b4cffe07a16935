"""The SMTP stand-in, driven by smtplib as the product drives it: delivery, scripted refusals, TLS, AUTH, outages."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.loopback.smtp_server import SmtpStandIn

pytestmark = pytest.mark.e2e

SENDER = "founder@cmo.example"


def _message(to: str, subject: str = "Hello", body: str = "Hi there — saw your repo.\n") -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


@pytest.fixture
def server() -> Iterator[SmtpStandIn]:
    with SmtpStandIn() as stand_in:
        yield stand_in


def test_plain_delivery_is_recorded_and_parsed(server: SmtpStandIn) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        refused = client.send_message(_message("Ada@Example.org", subject="Your parser"))
    assert refused == {}
    [received] = server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["Ada@Example.org"]
    assert received.message["Subject"] == "Your parser"
    assert received.message["To"] == "Ada@Example.org"
    assert received.message.get_content() == "Hi there — saw your repo.\n"
    assert b"Subject: Your parser" in received.data
    assert received.at <= time.monotonic()
    assert server.count() == 1
    assert server.count("ada@example.org") == 1
    assert server.count("someone@else.org") == 0
    assert server.attempts == [("Ada@Example.org", 250)]
    assert server.connections == 1


def test_scripted_temporary_failure_then_success(server: SmtpStandIn) -> None:
    server.rcpt_replies["ada@example.org"] = [(451, "4.7.1 Greylisted, try again later")]
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(SENDER, ["ada@example.org"], _message("ada@example.org").as_bytes())
        assert refused.value.recipients == {"ada@example.org": (451, b"4.7.1 Greylisted, try again later")}
        assert server.count() == 0
        client.sendmail(SENDER, ["ada@example.org"], _message("ada@example.org").as_bytes())
    assert server.count("ada@example.org") == 1
    assert server.attempts == [("ada@example.org", 451), ("ada@example.org", 250)]
    assert server.rcpt_replies["ada@example.org"] == []


def test_permanent_refusal_keeps_only_the_accepted_recipients(server: SmtpStandIn) -> None:
    server.rcpt_replies["gone@example.org"] = [(550, "5.1.1 No such user")]
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        refused = client.sendmail(SENDER, ["gone@example.org", "ada@example.org"], b"Subject: x\r\n\r\nbody\r\n")
    assert refused == {"gone@example.org": (550, b"5.1.1 No such user")}
    [received] = server.messages
    assert received.rcpt_tos == ["ada@example.org"]
    assert server.count("gone@example.org") == 0
    assert server.attempts == [("gone@example.org", 550), ("ada@example.org", 250)]


def test_starttls_with_auth() -> None:
    with SmtpStandIn(security="starttls", username="mailer", password="s3cret") as server:
        assert server.ca_file is not None
        context = ssl.create_default_context(cafile=server.ca_file)
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            assert not client.has_extn("auth")  # not before TLS
            assert client.mail(SENDER)[0] == 530  # nor anything else
            client.starttls(context=context)
            client.ehlo()
            assert client.has_extn("auth")
            assert client.mail(SENDER)[0] == 530  # TLS alone is not enough: AUTH first
            client.rset()
            client.login("mailer", "s3cret")
            client.send_message(_message("ada@example.org"))
        assert server.count("ada@example.org") == 1


def test_starttls_certificate_is_rejected_without_the_ca() -> None:
    with (
        SmtpStandIn(security="starttls") as server,
        smtplib.SMTP(server.host, server.port, timeout=5) as client,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        client.starttls(context=ssl.create_default_context())


def test_implicit_tls_with_auth() -> None:
    with SmtpStandIn(security="ssl", username="mailer", password="s3cret") as server:
        assert server.ca_file is not None
        context = ssl.create_default_context(cafile=server.ca_file)
        with smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=5) as client:
            assert not client.has_extn("starttls")
            client.login("mailer", "s3cret")
            client.send_message(_message("ada@example.org"))
        ca_file = Path(server.ca_file)
        assert ca_file.exists()
        assert server.count() == 1
        assert server.connections == 1
    assert not ca_file.exists()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_mechanisms_check_the_password(mechanism: str) -> None:
    with SmtpStandIn(username="mailer", password="s3cret") as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            assert set(client.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
            client.user, client.password = "mailer", "wrong"
            authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
            with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
                client.auth(mechanism, authobject)
            assert failed.value.smtp_code == 535
            assert client.mail(SENDER)[0] == 530
            client.rset()
            client.password = "s3cret"
            assert client.auth(mechanism, authobject)[0] == 235
            client.sendmail(SENDER, ["ada@example.org"], b"Subject: x\r\n\r\nbody\r\n")
        assert server.count() == 1


def test_wrong_password_fails_login() -> None:
    with SmtpStandIn(username="mailer", password="s3cret") as server:
        with (
            smtplib.SMTP(server.host, server.port, timeout=5) as client,
            pytest.raises(smtplib.SMTPAuthenticationError),
        ):
            client.login("mailer", "guess")
        assert server.count() == 0


def test_refuse_then_accept_on_the_same_port(server: SmtpStandIn) -> None:
    port = server.port
    with smtplib.SMTP(server.host, port, timeout=5) as open_session:
        server.refuse()
        with pytest.raises(ConnectionRefusedError):
            smtplib.SMTP(server.host, port, timeout=5)
        open_session.sendmail(SENDER, ["ada@example.org"], b"Subject: during\r\n\r\nbody\r\n")  # still served
        server.accept()
    assert server.port == port
    with smtplib.SMTP(server.host, port, timeout=5) as client:
        client.sendmail(SENDER, ["ada@example.org"], b"Subject: after\r\n\r\nbody\r\n")
    assert [m.message["Subject"] for m in server.messages] == ["during", "after"]
    assert server.connections == 2


def test_latency_delays_the_answer_to_data() -> None:
    with SmtpStandIn(latency=0.3) as server, smtplib.SMTP(server.host, server.port, timeout=5) as client:
        started = time.monotonic()
        client.sendmail(SENDER, ["ada@example.org"], b"Subject: slow\r\n\r\nbody\r\n")
        assert time.monotonic() - started >= 0.3
        assert server.messages[0].at - started >= 0.3


def test_client_hanging_up_during_latency_delivers_nothing() -> None:
    with SmtpStandIn(latency=0.3) as server:
        client = smtplib.SMTP(server.host, server.port, timeout=5)
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt("ada@example.org")[0] == 250
        assert client.sock is not None
        client.sock.settimeout(0.05)  # gives up while the server sits on the DATA answer
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.data(b"Subject: lost\r\n\r\nbody\r\n")
        client.close()
        wait_until(lambda: server.data_finished == 1, timeout=5, what="the server giving up the DATA answer")
        assert server.data_received == 1 and server.count() == 0
        assert server.attempts == [("ada@example.org", 250)]


def test_data_lines_longer_than_rfc5321_are_refused(server: SmtpStandIn) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail(SENDER, ["ada@example.org"], b"Subject: long\r\n\r\n" + b"x" * 1000 + b"\r\n")
    assert refused.value.smtp_code == 500
    assert server.count() == 0
