"""`sync` over TLS: from the start (`ssl`) and upgraded (`starttls`), trusting a private CA through
IMAP_CA_FILE; without it the certificate is refused in one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.loopback.imap_server import DovecotStandIn
from tests.sync import messages as m
from tests.sync.conftest import started_dovecot

pytestmark = pytest.mark.e2e


@pytest.fixture
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotStandIn]:
    """Dovecot with a private CA's certificate, one unrelated message in its INBOX."""
    for server in started_dovecot(tmp_path_factory, tls=True):
        server.deliver(m.unrelated())
        yield server


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_sync_reads_over_tls_with_the_private_ca(
    security: str, dovecot: DovecotStandIn, base_env: dict[str, str], tmp_path: Path
) -> None:
    port = dovecot.tls_port if security == "ssl" else dovecot.port
    env = base_env | dovecot.env() | {"IMAP_SECURITY": security, "IMAP_PORT": str(port)}
    assert run_cli(["suppress", "add", "someone@example.org"], env, tmp_path).returncode == 0  # a database
    untrusted = run_cli(["sync"], env, tmp_path)
    assert untrusted.returncode == 2 and "certificate" in untrusted.stderr.lower(), untrusted.stderr
    assert len(untrusted.stderr.strip().splitlines()) == 1
    done = run_cli(["sync", "--json"], env | {"IMAP_CA_FILE": str(dovecot.ca_file)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new_messages"] == 1
