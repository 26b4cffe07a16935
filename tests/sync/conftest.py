"""Dovecot on loopback for the sync tests: started by the test, or a clear skip (a failure in CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.loopback.imap_server import DovecotStandIn, available


def started_dovecot(factory: pytest.TempPathFactory, tls: bool = False) -> Iterator[DovecotStandIn]:
    if not available():
        if os.environ.get("CI"):
            raise RuntimeError("Dovecot is missing: .ci/run installs dovecot-imapd")
        pytest.skip("Dovecot (dovecot-imapd) is not installed, or not running as root")
    with DovecotStandIn(factory.mktemp("dovecot"), tls=tls) as server:
        yield server


@pytest.fixture
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotStandIn]:
    yield from started_dovecot(tmp_path_factory)
