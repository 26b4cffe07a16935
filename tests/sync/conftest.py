"""Dovecot on loopback for the sync tests: started by the test, or a clear skip (a failure in CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn
from tests.loopback.imap_server import DovecotStandIn, available
from tests.loopback.smtp_server import SmtpStandIn, delivery_env


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


@pytest.fixture(params=["sqlite", "postgres"])
def env(
    request: pytest.FixtureRequest,
    base_env: dict[str, str],
    github: GitHubStandIn,
    smtp: SmtpStandIn,
    dovecot: DovecotStandIn,
) -> dict[str, str]:
    """A campaign's environment with SMTP and IMAP (Dovecot) configured, on SQLite and on PostgreSQL
    (the sync tables and the ledger too)."""
    database = {"CMO_CHECKPOINT_URL": request.getfixturevalue("postgres_url")} if request.param == "postgres" else {}
    return base_env | {"GITHUB_API_URL": github.url, **delivery_env(smtp), **dovecot.env(), **database}


def settings_for(env: dict[str, str]) -> Settings:
    """In-process settings on the database of `env`."""
    return Settings(_env_file=None, CMO_DATA_DIR=env["CMO_DATA_DIR"], CMO_CHECKPOINT_URL=env.get("CMO_CHECKPOINT_URL"))
