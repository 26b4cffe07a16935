"""A graceful stop (SIGTERM) and an outside failure both leave a job that `resume` finishes."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import Fault, GitHubStandIn
from cmo_agent.runner import open_campaigns
from tests.conftest import run_cli, start_cli, start_run_until, wait_until

pytestmark = pytest.mark.e2e

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


def _lines_of(stream: IO[str] | None) -> list[str]:
    """The lines of `stream` as they come, read by a thread until it ends (for waiting on what a
    running process says, instead of sleeping)."""
    lines: list[str] = []

    def read() -> None:
        for line in stream or ():
            lines.append(line)

    threading.Thread(target=read, name="read-stream", daemon=True).start()
    return lines


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    return {login: (lead.get("address"), lead.get("score")) for login, lead in state["leads"].items()}


def _export(job_id: str, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    result = run_cli(["export", job_id, "--out", "-"], env, cwd)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_a_double_ctrl_c_is_paused_never_done_and_resume_finishes(
    tmp_path: Path, base_env: dict[str, str], demo_snapshot: dict[str, Any]
) -> None:
    with GitHubStandIn(demo_snapshot, latency=0.02) as github:
        env = base_env | {"GITHUB_API_URL": github.url, "CMO_BATCH_SIZE": "10", "CMO_GITHUB_WORKERS": "2"}
        env |= {"CMO_GITHUB_CACHE_TTL": "0"}  # every job asks GitHub itself, so requests mark its progress
        reference = run_cli(["run", GOAL, "--job-id", "ref"], env, tmp_path)
        assert reference.returncode == 0, reference.stderr
        for job in ("twice-a", "twice-b"):
            github.requests.clear()
            proc = start_run_until(["run", GOAL, "--job-id", job], env, tmp_path, github, r"^/users/", 40)
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)  # a person's second press comes a moment later; two at once may arrive as one
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 3, err
            assert "Traceback" not in err
            status = json.loads(run_cli(["status", job, "--json"], env, tmp_path).stdout)
            assert status["status"] == "paused" and status["completed_at"] is None
            resumed = run_cli(["resume", job, "--json"], env, tmp_path)
            assert resumed.returncode == 0, resumed.stderr
            final = _export(job, env, tmp_path)
            assert final["completed_at"]
            assert _comparable(final) == _comparable(_export("ref", env, tmp_path))
            assert set(final["to_send"]) == set(_export("ref", env, tmp_path)["to_send"])


def test_a_job_that_died_before_its_first_checkpoint_starts_over_on_resume(
    tmp_path: Path, base_env: dict[str, str], github: GitHubStandIn
) -> None:
    env = base_env | {"GITHUB_API_URL": github.url}
    settings = Settings(CMO_DATA_DIR=env["CMO_DATA_DIR"])
    with open_campaigns(settings) as (_, jobs):  # the record a run writes just before its graph starts
        jobs.create("early", GOAL, {"max_repos": 2})
    status = json.loads(run_cli(["status", "early", "--json"], env, tmp_path).stdout)
    assert status["status"] == "interrupted"
    resumed = run_cli(["resume", "early", "--json"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["status"] == "done" and summary["funnel"]["repos"] == 2 and summary["funnel"]["drafted"] > 0
    assert _export("early", env, tmp_path)["completed_at"]


def test_two_resumes_at_the_same_instant_one_runs_the_other_is_refused(
    tmp_path: Path, base_env: dict[str, str], demo_snapshot: dict[str, Any]
) -> None:
    with GitHubStandIn(demo_snapshot, latency=0.05) as github:
        env = base_env | {"GITHUB_API_URL": github.url, "CMO_BATCH_SIZE": "10", "CMO_GITHUB_WORKERS": "2"}
        proc = start_run_until(["run", GOAL, "--job-id", "race"], env, tmp_path, github, r"^/users/", 10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 3
        racers = [start_cli(["resume", "race"], env, tmp_path) for _ in range(2)]
        results = [(racer.wait(timeout=120), racer.communicate()[1]) for racer in racers]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "is running" in refused and len(refused.strip().splitlines()) == 1
    history = json.loads(run_cli(["history", "race", "--json"], env, tmp_path).stdout)
    steps = [row["step"] for row in history]
    assert steps == sorted(steps, reverse=True) and len(steps) == len(set(steps)), "one linear history"


def test_a_stop_during_an_hour_long_rate_limit_wait_pauses_at_once_and_resume_finishes(
    tmp_path: Path, base_env: dict[str, str], demo_snapshot: dict[str, Any]
) -> None:
    with GitHubStandIn(demo_snapshot) as github:
        github.limits["core"] = (40, 3600)  # the budget runs out mid-enrichment and resets in an hour
        env = base_env | {"GITHUB_API_URL": github.url, "CMO_BATCH_SIZE": "10", "CMO_GITHUB_WORKERS": "2"}
        proc = start_cli(["run", GOAL, "--job-id", "limited"], env, tmp_path)
        said = _lines_of(proc.stderr)

        def waiting_or_ended() -> bool:  # the progress display says when the run starts a wait
            return proc.poll() is not None or any("GitHub: waiting" in line and "(primary)" in line for line in said)

        wait_until(waiting_or_ended, what="the run waiting for the core budget's reset")
        assert proc.poll() is None, "".join(said)
        assert github.count(r"^/(users|repos)/") >= 40, "the core budget is spent"
        proc.send_signal(signal.SIGTERM)
        # An hour's wait would end in the timeout (the time a stop takes: bench/stop_latency.py).
        assert proc.wait(timeout=30) == 3, "".join(said)
        out = proc.stdout.read() if proc.stdout else ""
        assert "resume" in out, out
        status = json.loads(run_cli(["status", "limited", "--json"], env, tmp_path).stdout)
        assert status["status"] == "paused" and status["error"] == "SIGTERM"

        github.limits["core"] = (5000, 3600)
        resumed = run_cli(["resume", "limited", "--json"], env, tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        summary = json.loads(resumed.stdout)
        assert summary["status"] == "done" and summary["funnel"]["enriched"] == summary["funnel"]["candidates"] - 1
        assert summary["counters"]["github_api_calls"] == len(github.requests)
