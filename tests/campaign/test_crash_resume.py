"""kill -9 in the middle of enrichment, then resume: same leads as an uninterrupted run, nothing redone."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.demo.github_server import GitHubStandIn
from tests.conftest import run_cli, start_run_until

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"
BATCH = 10


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    """What a run decided about each person, without timestamps."""
    return {
        login: (lead.get("status"), lead.get("address"), lead.get("hygiene"), lead.get("score"))
        for login, lead in state["leads"].items()
    }


def _export(job_id: str, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    result = run_cli(["export", job_id], env, cwd)
    assert result.returncode == 0, result.stderr
    exported: dict[str, Any] = json.loads(Path(result.stdout.strip()).read_text())
    return exported


def test_kill_during_enrichment_then_resume(
    tmp_path: Path, base_env: dict[str, str], demo_snapshot: dict[str, Any]
) -> None:
    with GitHubStandIn(demo_snapshot, latency=0.01) as github:
        env = base_env | {"GITHUB_API_URL": github.url, "CMO_BATCH_SIZE": str(BATCH), "CMO_GITHUB_WORKERS": "2"}

        reference_env = env | {"CMO_DATA_DIR": str(tmp_path / "reference")}
        reference = run_cli(["run", GOAL, "--job-id", "ref"], reference_env, tmp_path)
        assert reference.returncode == 0, reference.stderr
        expected = _export("ref", reference_env, tmp_path)
        people = len(expected["candidates"])
        assert people > 5 * BATCH
        github.requests.clear()

        proc = start_run_until(["run", GOAL, "--job-id", "crash"], env, tmp_path, github, r"^/users/", people // 2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()

        status = json.loads(run_cli(["status", "crash", "--json"], env, tmp_path).stdout)
        assert status["shown_status"] == "interrupted"
        at_kill = _export("crash", env, tmp_path)
        saved = len(at_kill["leads"])
        assert 0 < saved < people, "the kill must land in the middle of enrichment"
        before = {"search": github.count(r"^/search/"), "contributors": github.count("/contributors$")}
        users_before = github.count(r"^/users/")
        assert users_before - saved <= 2 * BATCH, "at most the batch in flight is lost"

        resumed = run_cli(["resume", "crash"], env, tmp_path)
        assert resumed.returncode == 0, resumed.stderr

        # Finished stages were not redone: no new search or contributor requests; only people
        # without a checkpointed lead were fetched again (fewer where the batch in flight had
        # reached the cross-job cache), so nobody was fetched twice beyond that batch.
        assert github.count(r"^/search/") == before["search"] == 1
        assert github.count("/contributors$") == before["contributors"]
        assert github.count(r"^/users/") - users_before <= people - saved
        assert github.count(r"^/users/") <= people + BATCH

    final = _export("crash", env, tmp_path)
    assert _comparable(final) == _comparable(expected)
    assert set(final["to_send"]) == set(expected["to_send"])
    assert len(list((tmp_path / "data" / "outbox" / "crash").glob("*.eml"))) == len(expected["to_send"])
