"""SMTP delivery with the standard library's client, one message and one recipient per transaction,
step by step, so that every outcome is known: refused before DATA (nothing left), accepted, or lost
during DATA (it may have left: the ledger calls that `unknown`)."""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

from cmo_agent.core.config import Settings
from cmo_agent.core.errors import ServiceError

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class SmtpError(ServiceError):
    """A transaction that did not end in 250; `code` is the server's answer when there was one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SmtpUnavailable(SmtpError):
    """No transaction took place (refused connection, TLS or authentication failure, sender refused)."""


class SmtpTemporary(SmtpError):
    """4xx: try again later; nothing was delivered."""


class SmtpBounce(SmtpError):
    """5xx for the recipient: a hard bounce."""


class SmtpRejected(SmtpError):
    """5xx for the message itself after DATA: not delivered, but not the address's fault."""


class SmtpUncertain(SmtpError):
    """The connection was lost during DATA: the message may or may not have been accepted."""


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:300]


class SmtpTransport:
    """A connection to the configured relay, opened on first use and reopened when it drops."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise SmtpUnavailable("SMTP_HOST is not set")
        self._host = settings.smtp_host
        self._security = settings.smtp_security
        self._port = settings.smtp_port or DEFAULT_PORTS[self._security]
        self._username = settings.smtp_username
        self._password = settings.smtp_password
        self._timeout = settings.smtp_timeout
        self._context = ssl.create_default_context(cafile=settings.smtp_ca_file) if self._security != "none" else None
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp.close()
            self._smtp = None
        try:
            if self._security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=self._timeout, context=self._context
                )
            else:
                smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
                if self._security == "starttls":
                    smtp.starttls(context=self._context)
            smtp.ehlo_or_helo_if_needed()
            if self._username:
                smtp.login(self._username, self._password.get_secret_value() if self._password else "")
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpUnavailable(f"SMTP authentication failed: {exc.smtp_code}", exc.smtp_code) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise SmtpUnavailable(f"cannot reach {self._host}:{self._port}: {type(exc).__name__}: {exc}") from None
        self._smtp = smtp
        return smtp

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        """Deliver `message` from `sender` to `recipient` only, or raise the SmtpError saying what happened."""
        smtp = self._connection()
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                smtp.rset()
                kind: type[SmtpError] = SmtpTemporary if 400 <= code < 500 else SmtpUnavailable
                raise kind(f"sender refused: {code} {_text(reply)}", code)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                smtp.rset()
                kind = SmtpTemporary if 400 <= code < 500 else SmtpBounce
                raise kind(f"recipient refused: {code} {_text(reply)}", code)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._smtp = None
            raise SmtpUnavailable(f"connection lost before DATA: {type(exc).__name__}: {exc}") from None
        try:
            code, answer = smtp.docmd("DATA")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:  # no 354 yet: no byte of the message left
            self._smtp = None
            raise SmtpUnavailable(f"connection lost before the message was sent: {type(exc).__name__}: {exc}") from None
        if code != 354:  # the server would not take DATA at all: nothing was sent
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()
            kind = SmtpTemporary if 400 <= code < 500 else SmtpRejected
            raise kind(f"DATA refused: {code} {_text(answer)}", code)
        try:
            smtp.send(_data_payload(message.as_bytes(policy=SMTP_POLICY)))
            code, answer = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._smtp = None
            raise SmtpUncertain(f"connection lost during DATA: {type(exc).__name__}: {exc}") from None
        if code != 250:
            kind = SmtpTemporary if 400 <= code < 500 else SmtpRejected
            raise kind(f"message refused: {code} {_text(answer)}", code)


def _data_payload(data: bytes) -> bytes:
    """The message as sent after DATA: lines starting with a dot doubled, CRLF-terminated, then the
    lone dot (RFC 5321 4.5.2)."""
    payload = re.sub(rb"(?m)^\.", b"..", data)
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    return payload + b".\r\n"
