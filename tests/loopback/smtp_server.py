"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the delivery tests: plain, STARTTLS or implicit TLS, optional
AUTH, scripted RCPT replies, latency, hang-ups at any step of a transaction, and a listener that can be switched
off and on; it logs what it accepts."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, cast

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Security = Literal["none", "starttls", "ssl"]
HangUpStep = Literal["connect", "ehlo", "mail", "rcpt", "data", "message", "after_message"]
"""Where the server can drop a connection: instead of its greeting; on receiving EHLO, MAIL, RCPT or DATA (before
any answer); after the message's final dot (accepted and logged, but the 250 is never sent); right after that 250."""

_READY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Received:
    """One message the stand-in accepted (answered 250 to its DATA)."""

    mail_from: str
    rcpt_tos: list[str]
    """The recipients accepted for this transaction, as the client spelled them."""
    data: bytes
    message: EmailMessage
    """`data` parsed with email.policy.default, its CRLF line ends read as LF (so get_content() gives plain text)."""
    at: float
    """time.monotonic() when the 250 was about to be sent."""


class SmtpStandIn:
    """Speaks SMTP on 127.0.0.1 (any free port); use as a context manager or call start()/stop().

    `security` picks a plain port, one that requires STARTTLS, or implicit TLS; with `username`/`password`, AUTH
    (PLAIN or LOGIN) must succeed before MAIL. `latency` (settable) delays every answer to DATA.
    """

    host: str = "127.0.0.1"

    def __init__(
        self,
        *,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        latency: float = 0.0,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.security = security
        self.username = username
        self.password = password
        self.latency = latency
        self.rcpt_replies: dict[str, list[tuple[int, str]]] = {}
        """Lowercased recipient → (code, text) answers to RCPT TO, used up in order; then 250 OK."""
        self.ca_file: str | None = None
        """PEM of the CA that signed the server's certificate (set by start() unless security is "none")."""
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self._attempts: list[tuple[str, int]] = []
        self._connections = 0
        self._data_received = 0
        self._data_finished = 0
        self._hang_up_plan: dict[HangUpStep, list[int]] = {}
        self._hung_up: list[HangUpStep] = []
        self._tempdir: str | None = None
        self._controller: _Controller | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The listening port (fixed from start() on, also across refuse()/accept())."""
        if self._port is None:
            raise RuntimeError("the SMTP stand-in was never started")
        return self._port

    def start(self) -> SmtpStandIn:
        tls: ssl.SSLContext | None = None
        if self.security != "none":
            tls = self._server_tls_context()
        smtp_options: dict[str, Any] = {}
        if self.security == "starttls":
            smtp_options.update(tls_context=tls, require_starttls=True)
        if self.username is not None:
            smtp_options["authenticator"] = self._authenticate
        # AUTH over a plain socket is fine on loopback. aiosmtpd only counts STARTTLS as TLS, so implicit TLS
        # needs this too. Requiring AUTH is left to _Handler.handle_MAIL: aiosmtpd's own auth_required warns
        # ("can lead to security vulnerabilities") on every connection when combined with this.
        smtp_options["auth_require_tls"] = self.security == "starttls" or self.username is None
        self._controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=0,
            ssl_context=tls if self.security == "ssl" else None,
            server_hostname="localhost",  # else aiosmtpd asks socket.getfqdn() on every connection
            ready_timeout=_READY_TIMEOUT,
            **smtp_options,
        )
        try:
            self._controller.start()
        except BaseException:
            self._remove_tempdir()
            raise
        self._port = self._controller.port
        with self._lock:
            self._connections = 0  # Controller.start() connects once to check the server is up
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
        self._remove_tempdir()

    def __enter__(self) -> SmtpStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refuse(self) -> None:
        """Stop listening: new connections get ConnectionRefusedError; open sessions carry on."""
        controller = self._running_controller()
        controller.call(controller.close_listener())

    def accept(self) -> None:
        """Listen again, on the same port, after refuse()."""
        controller = self._running_controller()
        controller.call(controller.open_listener())

    def hang_up_at(self, step: HangUpStep, times: int = 1, skip: int = 0) -> None:
        """Drop the connection without a word at `step` the next `times` times a session reaches it, after
        letting `skip` go by (as a relay that crashes or a NAT that forgets the connection does)."""
        with self._lock:
            self._hang_up_plan[step] = [skip, times]

    # --- what tests read ---------------------------------------------------------------------

    @property
    def hung_up(self) -> list[HangUpStep]:
        """The steps at which the server dropped a connection, in order."""
        with self._lock:
            return list(self._hung_up)

    @property
    def messages(self) -> list[Received]:
        """A snapshot of every accepted message, in order."""
        with self._lock:
            return list(self._messages)

    @property
    def attempts(self) -> list[tuple[str, int]]:
        """A snapshot of every RCPT TO seen: (recipient as sent, code answered)."""
        with self._lock:
            return list(self._attempts)

    @property
    def connections(self) -> int:
        """How many connections the listener accepted."""
        with self._lock:
            return self._connections

    @property
    def data_received(self) -> int:
        """How many messages' content arrived (DATA up to its final dot), before any latency or answer."""
        with self._lock:
            return self._data_received

    @property
    def data_finished(self) -> int:
        """How many of those the server is through with: answered, or dropped with the connection (a client
        that hangs up during the latency cancels the answer, and the message is never accepted)."""
        with self._lock:
            return self._data_finished

    def count(self, recipient: str | None = None) -> int:
        """How many messages were accepted (for `recipient`, compared case-insensitively, if given)."""
        wanted = recipient.lower() if recipient is not None else None
        with self._lock:
            return sum(1 for m in self._messages if wanted is None or wanted in (r.lower() for r in m.rcpt_tos))

    # --- called from the server thread ----------------------------------------------------------

    def rcpt_reply(self, recipient: str) -> tuple[int, str]:
        """The answer to RCPT TO `recipient` (the next scripted one, else 250 OK), logged as an attempt."""
        with self._lock:
            script = self.rcpt_replies.get(recipient.lower())
            code, text = script.pop(0) if script else (250, "OK")
            self._attempts.append((recipient, code))
        return code, text

    def record(self, envelope: Envelope) -> None:
        data = envelope.original_content or b""
        message = email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=email.policy.default)
        received = Received(envelope.mail_from or "", list(envelope.rcpt_tos), data, message, time.monotonic())
        with self._lock:
            self._messages.append(received)

    def connected(self) -> None:
        with self._lock:
            self._connections += 1

    def data_arrived(self) -> None:
        with self._lock:
            self._data_received += 1

    def data_done(self) -> None:
        with self._lock:
            self._data_finished += 1

    def hangs_up(self, step: HangUpStep) -> bool:
        """Whether the session must drop its connection at `step` now (each True is logged in `hung_up`)."""
        with self._lock:
            plan = self._hang_up_plan.get(step)
            if not plan or plan[1] <= 0:
                return False
            if plan[0] > 0:
                plan[0] -= 1
                return False
            plan[1] -= 1
            self._hung_up.append(step)
            return True

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == (self.username or "").encode()
            and auth_data.password == (self.password or "").encode()
        )
        # handled=False makes aiosmtpd answer 535 itself; its default (True) sends nothing and the client hangs.
        return AuthResult(success=ok, handled=False)

    def _server_tls_context(self) -> ssl.SSLContext:
        """A server context with a fresh certificate for 127.0.0.1 and localhost; its CA goes to `ca_file`."""
        ca = trustme.CA()
        self._tempdir = tempfile.mkdtemp(prefix="smtp-stand-in-")
        self.ca_file = str(Path(self._tempdir) / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def _remove_tempdir(self) -> None:
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def _running_controller(self) -> _Controller:
        if self._controller is None:
            raise RuntimeError("the SMTP stand-in is not started")
        return self._controller


class _Handler:
    """aiosmtpd hooks: AUTH before MAIL (when required), scripted RCPT answers, DATA latency and logging."""

    def __init__(self, stand_in: SmtpStandIn) -> None:
        self.stand_in = stand_in

    # aiosmtpd finds its hooks by these names.
    async def handle_MAIL(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.stand_in.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        code, text = self.stand_in.rcpt_reply(address)
        if code >= 400:
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.stand_in.data_arrived()
        try:
            if self.stand_in.latency:
                # A client that hangs up meanwhile cancels this: the message then counts as never accepted.
                await asyncio.sleep(self.stand_in.latency)
            self.stand_in.record(envelope)
            if self.stand_in.hangs_up("message"):
                await _hang_up(server)
            return "250 Message accepted for delivery"
        finally:
            self.stand_in.data_done()


async def _hang_up(server: SMTP) -> None:
    """Close the connection with nothing said; the session ends when asyncio reports it lost."""
    if server.transport is not None:
        server.transport.close()
    await asyncio.Event().wait()  # cancelled by connection_lost()


class _Session(SMTP):
    """aiosmtpd's SMTP session, dropping its connection where the stand-in's plan says."""

    def __init__(self, stand_in: SmtpStandIn, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._stand_in = stand_in

    async def _handle_client(self) -> None:
        if self._stand_in.hangs_up("connect"):
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()

    async def smtp_EHLO(self, hostname: str) -> None:  # noqa: N802 (aiosmtpd finds commands by these names)
        if self._stand_in.hangs_up("ehlo"):
            await _hang_up(self)
        await super().smtp_EHLO(hostname)

    async def smtp_MAIL(self, arg: str | None) -> None:  # noqa: N802
        if self._stand_in.hangs_up("mail"):
            await _hang_up(self)
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:  # noqa: N802
        if self._stand_in.hangs_up("rcpt"):
            await _hang_up(self)
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802
        if self._stand_in.hangs_up("data"):
            await _hang_up(self)
        await super().smtp_DATA(arg)
        if self._stand_in.hangs_up("after_message") and self.transport is not None:
            self.transport.close()


class _Controller(Controller):
    """aiosmtpd's threaded controller, binding port 0 (1.4.6 cannot: it checks readiness by connecting to
    `port`) and able to close and reopen its listener on the same port."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._stand_in = handler.stand_in

    def factory(self) -> SMTP:
        self._stand_in.connected()  # aiosmtpd has no connect hook; one SMTP instance is made per connection
        return _Session(self._stand_in, self.handler, **self.SMTP_kwargs)  # as Controller.factory() does

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.open_listener()

    async def open_listener(self) -> asyncio.AbstractServer:
        """Listen on `port` (unless already listening); when it is 0, on a free port, which becomes `port`."""
        if self.server is not None and self.server.is_serving():
            return self.server
        server = cast(asyncio.Server, await super()._create_server())
        self.port = server.sockets[0].getsockname()[1]
        self.server = server
        return server

    async def close_listener(self) -> None:
        # Server.close() stops accepting at once and leaves open sessions alone (Python 3.11).
        if self.server is not None:
            self.server.close()

    def call(self, work: Coroutine[Any, Any, object]) -> None:
        """Run `work` on the server's event loop and wait for it."""
        asyncio.run_coroutine_threadsafe(work, self.loop).result(_READY_TIMEOUT)


SENDER = "dana@example.com"


def delivery_env(smtp: SmtpStandIn) -> dict[str, str]:
    """The environment that sends a campaign's messages to `smtp`: relay, sender identity, postal
    address, and pacing loose enough for tests (tests of pacing set their own)."""
    return {
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "CMO_SENDER_EMAIL": SENDER,
        "CMO_SENDER_NAME": "Dana Reyes",
        "CMO_POSTAL_ADDRESS": "Example Labs, 500 Demo Street, Springfield, OR 97477, USA",
        "CMO_SEND_RATE_PER_MIN": "100000",
        "CMO_DAILY_CAP": "100000",
    }
