"""The same campaign with PostgreSQL as the checkpoint database (the machine's real server)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from cmo_agent.graph import STAGES
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


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
