"""The same campaign with PostgreSQL as the checkpoint database (the machine's real server)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cmo_agent.graph import STAGES
from tests.conftest import run_cli

ADMIN_URL = os.environ.get("CMO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    name = f"cmo_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_demo_campaign_on_postgres(tmp_path: Path, base_env: dict[str, str], postgres_url: str) -> None:
    env = base_env | {"CMO_CHECKPOINT_URL": postgres_url}
    result = run_cli(
        ["run", "Find active ML engineers", "--demo", "--job-id", "pg-1", "--max-repos", "4"], env, tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "data" / "cmo_agent.db").exists(), "PostgreSQL was asked for, not SQLite"

    rows = json.loads(run_cli(["history", "pg-1", "--json"], env, tmp_path).stdout)
    assert set(STAGES) <= {row["node"] for row in rows}
    jobs = json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)
    assert [(job["job_id"], job["status"]) for job in jobs] == [("pg-1", "done")]

    exported = run_cli(["export", "pg-1"], env, tmp_path)
    state = json.loads(Path(exported.stdout.strip()).read_text())
    assert state["reports"]["summary"]["funnel"]["repos"] == 4
    assert len(list((tmp_path / "data" / "outbox" / "pg-1").glob("*.eml"))) == len(state["to_send"]) > 0

    with psycopg.connect(postgres_url) as conn:
        count = conn.execute("SELECT count(*) FROM checkpoints").fetchone()
    assert count is not None and count[0] == len(rows)
