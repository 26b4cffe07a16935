"""PostgreSQL dropping every connection of a campaign while it enriches: the run stops with one
clear line and no traceback, and `resume` finishes it with the same leads as a fault-free run."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cmo_agent.demo.github_server import Fault, GitHubStandIn
from cmo_agent.runner import current_state
from tests.conftest import ADMIN_URL, run_cli, start_run_until
from tests.faults.conftest import GOAL, WORLD_ARGS, FaultFree, assert_no_traceback, decisions, settings_from, world_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def database(postgres_url: str) -> str:
    """The name of the test's own database (to find its connections)."""
    return postgres_url.rsplit("/", 1)[1]


@pytest.fixture
def slow_github(demo_snapshot: dict[str, Any]) -> Iterator[GitHubStandIn]:
    """GitHub answering in 50 ms, so that the campaign can be caught enriching."""
    with GitHubStandIn(demo_snapshot, latency=0.05) as stand_in:
        yield stand_in


@pytest.fixture
def env(base_env: dict[str, str], slow_github: GitHubStandIn, postgres_url: str) -> dict[str, str]:
    return world_env(base_env, slow_github, CMO_CHECKPOINT_URL=postgres_url, CMO_BATCH_SIZE="4", CMO_GITHUB_WORKERS="2")


def _lose_the_database_while_enriching(
    tmp_path: Path, env: dict[str, str], github: GitHubStandIn, database: str, profiles: int = 6
) -> subprocess.CompletedProcess[str]:
    """Run the campaign, terminating every connection it holds once it has read `profiles` profiles."""
    args = ["run", GOAL, "--job-id", "lost", *WORLD_ARGS]
    proc = start_run_until(args, env, tmp_path, github, r"^/users/", profiles)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    assert killed, "the run had connections to lose"
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_losing_the_database_mid_run_stops_cleanly_and_resume_finishes(
    tmp_path: Path, env: dict[str, str], slow_github: GitHubStandIn, database: str, fault_free: FaultFree
) -> None:
    stopped = _lose_the_database_while_enriching(tmp_path, env, slow_github, database)
    assert stopped.returncode != 0, "the run did not carry on as if nothing happened"
    assert_no_traceback(stopped)
    said = [line for line in (stopped.stdout + stopped.stderr).splitlines() if line.startswith(("error:", "failed:"))]
    assert len(said) == 1 and ("database" in said[0] or "connection" in said[0]), said
    assert current_state(settings_from(env), "lost")[0].status in ("failed", "paused")

    resumed = run_cli(["resume", "lost"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_no_traceback(resumed)
    status = json.loads(run_cli(["status", "lost", "--json"], env, tmp_path).stdout)
    assert status["status"] == "done"
    assert decisions(current_state(settings_from(env), "lost")[1]) == decisions(fault_free()["state"])


def test_losing_the_database_mid_run_exits_1_with_the_way_on(
    tmp_path: Path, env: dict[str, str], slow_github: GitHubStandIn, database: str
) -> None:
    stopped = _lose_the_database_while_enriching(tmp_path, env, slow_github, database)
    assert stopped.returncode in (1, 3), stopped.stderr
    assert "cmo-agent resume lost" in stopped.stdout
    assert "psycopg" not in stopped.stderr


def test_losing_the_database_during_a_long_step_prints_no_traceback(
    tmp_path: Path, env: dict[str, str], slow_github: GitHubStandIn, database: str
) -> None:
    # Profiles that take 0.8 s, two per batch, no cache: the batch in flight outlives the loss by 0.8 s.
    slow_github.faults.append(Fault(r"^/users/", 200, times=100, delay=0.8, rewrite=lambda body: body))
    slow = env | {"CMO_BATCH_SIZE": "2", "CMO_GITHUB_CACHE_TTL": "0"}
    stopped = _lose_the_database_while_enriching(tmp_path, slow, slow_github, database, profiles=3)
    assert stopped.returncode != 0
    assert_no_traceback(stopped)
