"""The 0.5.0 fixture resumes: a database written by cmo-agent 0.5.0 (`tests/fixtures/v0_5_0/`, how it
was made is in its README) is migrated when first opened, its job stopped during enrichment runs to
the end on today's code, and every command reads its jobs."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.core.migrations import LATEST, MIGRATIONS
from cmo_agent.core.state import STATE_VERSION
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).parents[1] / "fixtures" / "v0_5_0" / "cmo_agent.db"


@pytest.fixture
def v050_env(tmp_path: Path, base_env: dict[str, str]) -> dict[str, str]:
    """A data directory holding a copy of the 0.5.0 database."""
    data = Path(base_env["CMO_DATA_DIR"])
    data.mkdir(parents=True)
    shutil.copyfile(FIXTURE, data / "cmo_agent.db")
    return base_env


def _json(args: list[str], env: dict[str, str], cwd: Path) -> Any:
    result = run_cli(args, env, cwd)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_the_050_job_stopped_during_enrichment_resumes_to_the_end(v050_env: dict[str, str], tmp_path: Path) -> None:
    env, data = v050_env, Path(v050_env["CMO_DATA_DIR"])
    before = _json(["export", "v050-demo", "--out", "-"], env, tmp_path)
    assert "schema_version" not in before and "completed_at" not in before
    enriched = len(before["leads"])
    assert 0 < enriched < len(before["candidates"]), "the fixture's job stopped during enrichment"

    resumed = run_cli(["resume", "v050-demo"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "campaign v050-demo: done" in resumed.stdout

    state = _json(["export", "v050-demo", "--out", "-"], env, tmp_path)
    assert state["schema_version"] == STATE_VERSION and state["completed_at"]
    assert len(state["leads"]) == len(state["candidates"]) > enriched
    written = sorted(login for login, draft in state["to_send"].items() if draft["status"] == "written")
    assert written, "the resumed job delivered nothing"
    outbox = data / "outbox" / "v050-demo"
    assert sorted(path.stem for path in outbox.glob("*.eml")) == written

    with sqlite3.connect(data / "cmo_agent.db") as conn:
        rows = conn.execute("SELECT version, name FROM cmo_schema_version ORDER BY version").fetchall()
    assert rows == [(m.version, m.name) for m in MIGRATIONS]
    assert rows[-1][0] == LATEST

    status = _json(["status", "v050-demo", "--json"], env, tmp_path)
    assert status["status"] == "done" and status["completed_at"] == state["completed_at"]
    report = _json(["report", "v050-demo", "--json"], env, tmp_path)
    assert report["funnel"]["delivered"] == len(written)
    history = _json(["history", "v050-demo", "--json"], env, tmp_path)
    assert history[0]["node"] == "report" and history[-1]["node"] == "(input)"
    assert [row["node"] for row in history].count("enrich") > 3, "0.5.0's enrich steps and today's"
    listed = {job["job_id"]: job["status"] for job in _json(["status", "--json"], env, tmp_path)}
    assert listed == {"v050-demo": "done", "v050-done": "done", "v050-smtp": "done"}


def test_finished_050_jobs_stay_done_and_send_nothing_again(v050_env: dict[str, str], tmp_path: Path) -> None:
    """0.5.0 recorded no `completed_at`: resume writes it (the report stage's time) instead of taking
    the job for one stopped before its final stage; the 0.5.0 ledger's rows are step 0 and settled."""
    env = v050_env
    for job_id in ("v050-done", "v050-smtp"):
        report_ran_at = _json(["history", job_id, "--json"], env, tmp_path)[0]["created_at"]
        resumed = run_cli(["resume", job_id], env, tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert f"campaign {job_id}: done" in resumed.stdout
        state = _json(["export", job_id, "--out", "-"], env, tmp_path)
        assert state["completed_at"] == report_ran_at and state["schema_version"] == STATE_VERSION
        assert _json(["status", job_id, "--json"], env, tmp_path)["status"] == "done"
        history = _json(["history", job_id, "--json"], env, tmp_path)
        assert history[0]["node"] == "(update)"
        again = run_cli(["resume", job_id], env, tmp_path)  # done: nothing more is written
        assert again.returncode == 0, again.stderr
        assert _json(["history", job_id, "--json"], env, tmp_path) == history
    report = _json(["report", "v050-smtp", "--json"], env, tmp_path)
    assert report["outcomes"]["sent"] == 5 and report["funnel"]["delivered"] == 5
