"""The SMTP transport against a real server on loopback: TLS both ways, authentication, and every
answer mapped to what the ledger must record."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from cmo_agent.adapters.smtp import SmtpBounce, SmtpTemporary, SmtpTransport, SmtpUnavailable
from cmo_agent.core.config import Settings
from tests.loopback.smtp_server import SmtpStandIn

pytestmark = pytest.mark.e2e


def _message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Dana <dana@example.com>"
    message["To"] = to
    message["Subject"] = "Hello"
    message.set_content("Hi there,\n\nA short note.\n")
    return message


def _settings(server: SmtpStandIn, tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "CMO_DATA_DIR": tmp_path,
        "SMTP_HOST": server.host,
        "SMTP_PORT": server.port,
        "SMTP_SECURITY": server.security,
        "SMTP_CA_FILE": server.ca_file,
        "SMTP_TIMEOUT": 5,
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_authentication(security: str, tmp_path: Path) -> None:
    with SmtpStandIn(security=security, username="dana", password="s3cret") as server:  # type: ignore[arg-type]
        with SmtpTransport(_settings(server, tmp_path, SMTP_USERNAME="dana", SMTP_PASSWORD="s3cret")) as smtp:
            smtp.send(_message("ada@example.org"), "dana@example.com", "ada@example.org")
            smtp.send(_message("bob@example.org"), "dana@example.com", "bob@example.org")
        assert server.count() == 2 and server.connections == 1, "one connection for both messages"
        with (
            SmtpTransport(_settings(server, tmp_path, SMTP_USERNAME="dana", SMTP_PASSWORD="wrong")) as smtp,
            pytest.raises(SmtpUnavailable, match="authentication failed: 535"),
        ):
            smtp.send(_message("ada@example.org"), "dana@example.com", "ada@example.org")


def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    with SmtpStandIn(security="starttls") as server:
        settings = _settings(server, tmp_path, SMTP_CA_FILE=None)
        with SmtpTransport(settings) as smtp, pytest.raises(SmtpUnavailable, match="SSLCertVerificationError"):
            smtp.send(_message("ada@example.org"), "dana@example.com", "ada@example.org")
        assert server.count() == 0


def test_answers_map_to_outcomes(tmp_path: Path) -> None:
    with SmtpStandIn() as server, SmtpTransport(_settings(server, tmp_path)) as smtp:
        server.rcpt_replies["gone@example.org"] = [(550, "5.1.1 no such user")]
        server.rcpt_replies["busy@example.org"] = [(451, "4.7.1 later")]
        with pytest.raises(SmtpBounce) as bounce:
            smtp.send(_message("gone@example.org"), "dana@example.com", "gone@example.org")
        with pytest.raises(SmtpTemporary) as later:
            smtp.send(_message("busy@example.org"), "dana@example.com", "busy@example.org")
        smtp.send(_message("busy@example.org"), "dana@example.com", "busy@example.org")
        assert (bounce.value.code, later.value.code) == (550, 451)
        assert server.count() == 1 and server.connections == 1, "a refused recipient does not cost the connection"
        server.refuse()
    with SmtpTransport(_settings(server, tmp_path)) as smtp, pytest.raises(SmtpUnavailable, match="cannot reach"):
        smtp.send(_message("ada@example.org"), "dana@example.com", "ada@example.org")
