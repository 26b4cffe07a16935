"""A graceful stop (SIGTERM) and an outside failure both leave a job that `resume` finishes."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from cmo_agent.demo.github_server import Fault, GitHubStandIn
from tests.conftest import run_cli, start_run_until

GOAL = "Find active ML engineers"


def test_sigterm_drains_checkpoints_and_exits_3(
    tmp_path: Path, base_env: dict[str, str], demo_snapshot: dict[str, Any]
) -> None:
    with GitHubStandIn(demo_snapshot, latency=0.05) as github:
        env = base_env | {"GITHUB_API_URL": github.url, "CMO_BATCH_SIZE": "10", "CMO_GITHUB_WORKERS": "2"}
        proc = start_run_until(["run", GOAL, "--job-id", "stopped"], env, tmp_path, github, r"^/users/", 30)
        concurrent = run_cli(["resume", "stopped"], env, tmp_path)
        assert concurrent.returncode == 2 and "is running (process" in concurrent.stderr
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 3, err
        assert "resume" in out
        fetched = github.count(r"^/users/")

        status = json.loads(run_cli(["status", "stopped", "--json"], env, tmp_path).stdout)
        assert status["status"] == "paused"
        # The batch in flight finished and was saved before the stop: nothing fetched was lost.
        assert status["funnel"]["enriched"] == fetched

        resumed = run_cli(["resume", "stopped", "--json"], env, tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        summary = json.loads(resumed.stdout)
        assert summary["status"] == "done"
        assert github.count(r"^/users/") == summary["funnel"]["candidates"]


def test_outside_failure_exits_1_and_resume_finishes(
    tmp_path: Path, base_env: dict[str, str], demo_snapshot: dict[str, Any]
) -> None:
    with GitHubStandIn(demo_snapshot) as github:
        outage = Fault(r"^/search/", 503, times=100)
        github.faults.append(outage)
        env = base_env | {"GITHUB_API_URL": github.url, "CMO_GITHUB_MAX_RETRIES": "1"}
        failed = run_cli(["run", GOAL, "--job-id", "flaky", "--max-repos", "2"], env, tmp_path)
        assert failed.returncode == 1
        assert "503" in failed.stdout and "cmo-agent resume flaky" in failed.stdout
        assert github.count(r"^/search/") == 2, "one try and one retry"
        outage.times = 0

        status = json.loads(run_cli(["status", "flaky", "--json"], env, tmp_path).stdout)
        assert status["status"] == "failed" and "503" in status["error"]

        resumed = run_cli(["resume", "flaky", "--json"], env, tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout)["funnel"]["repos"] == 2
