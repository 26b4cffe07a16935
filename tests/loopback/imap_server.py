"""A real IMAP server on loopback for `sync`: Dovecot (Debian's `dovecot-imapd`), with one user and a
Maildir in a temporary folder that tests fill with the mail they need.

Dovecot drops privileges: its unprivileged processes must reach the Maildir (mode 755 on the path),
the mail is owned by the `dovecot` user (`first_valid_uid` lowered to allow a system uid), and the
daemon's output goes to a file (it keeps inherited pipes open).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import trustme

USER = "dana"
PASSWORD = "imap-test-secret"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

_CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{base}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"""


def available() -> bool:
    return Path(DOVECOT).exists() and os.geteuid() == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DovecotStandIn:
    """Dovecot serving one user's Maildir under `base` on 127.0.0.1 (use as a context manager)."""

    def __init__(self, base: Path, tls: bool = False) -> None:
        self.base = base
        self.tls = tls
        """With `tls`, a certificate from a private CA (`ca_file`): STARTTLS on `port`, TLS from the
        start on `tls_port`."""
        self.port = _free_port()
        self.tls_port = _free_port() if tls else 0
        self.ca_file = base / "ca.pem"
        self.maildir = base / "mail" / USER
        self._process: subprocess.Popen[bytes] | None = None
        self._count = 0

    def env(self) -> dict[str, str]:
        """The product's IMAP settings for this server."""
        return {
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": str(self.port),
            "IMAP_USERNAME": USER,
            "IMAP_PASSWORD": PASSWORD,
            "IMAP_SECURITY": "none",
        }

    def __enter__(self) -> DovecotStandIn:
        owner = pwd.getpwnam("dovecot")
        for sub in ("run", "state", "home", "mail"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        for path in [self.base, *self.base.parents]:
            if path == Path("/"):
                break
            path.chmod(path.stat().st_mode | 0o755)
        for path in [self.base / "home", self.base / "mail", *self.base.joinpath("mail").rglob("*")]:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        (self.base / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        config = self.base / "dovecot.conf"
        ssl_settings = "ssl = no"
        if self.tls:
            ca = trustme.CA()
            ca.cert_pem.write_to_path(str(self.ca_file))
            issued = ca.issue_cert("127.0.0.1", "localhost")
            issued.private_key_pem.write_to_path(str(self.base / "key.pem"))
            issued.cert_chain_pems[0].write_to_path(str(self.base / "cert.pem"))
            ssl_settings = f"ssl = yes\nssl_cert = <{self.base}/cert.pem\nssl_key = <{self.base}/key.pem"
        config.write_text(_CONFIG.format(base=self.base, port=self.port, tls_port=self.tls_port, ssl=ssl_settings))
        with (self.base / "dovecot.out").open("wb") as out:
            self._process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(config)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {(self.base / 'dovecot.out').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    if probe.recv(64).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("dovecot did not answer within 15 s")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def deliver(self, raw: bytes) -> None:
        """Put `raw` in the INBOX as a new message (as a delivery agent would, into new/)."""
        self._count += 1
        name = f"{time.time():.6f}.{os.getpid()}_{self._count}.standin"
        owner = pwd.getpwnam("dovecot")
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
        tmp.rename(self.maildir / "new" / name)

    def flags(self) -> list[str]:
        """The Maildir flags of every message that Dovecot has seen (moved to cur/), for checking
        that nothing was marked read."""
        return [path.name.partition(":2,")[2] for path in (self.maildir / "cur").iterdir()]
