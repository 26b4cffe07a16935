"""Errors you can act on: a person or a repository whose lookup failed is recorded with what it
takes to act (type, message, traceback, the input, attempts), `status` counts it by stage, and
`resume --retry-errors` looks up only that item again once the cause is gone. Nobody else is
fetched, drafted or delivered again."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import cmo_agent.stages.common as stage_common
from cmo_agent.adapters.github_limits import LimitPolicy
from cmo_agent.cli import app
from cmo_agent.core.config import Settings
from cmo_agent.core.records import ErrorRecord
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import Fault, GitHubStandIn
from cmo_agent.runner import approve_campaign, current_state, resume_campaign, start_campaign
from tests.faults.conftest import GOAL, WORLD, WORLD_ARGS

pytestmark = pytest.mark.e2e

FAILING = "faziz"
"""A person of the small world who gets a draft when their profile can be read."""
FAILING_REPO = "cheny/evalkit"
"""One of the small world's two repositories."""
Cli = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: GitHubStandIn) -> Cli:
    """`cli(*args, code=0)`: the CLI in-process, on the small world, with one retry per request after
    a short back-off (GitHub's 5xx back-off starts at a second), in a private data directory."""
    for name in ("CMO_CHECKPOINT_URL", "GITHUB_TOKEN", "OPENAI_API_KEY", "SMTP_HOST", "CMO_PITCH"):
        monkeypatch.delenv(name, raising=False)
    env = {"CMO_DATA_DIR": str(tmp_path / "data"), "GITHUB_API_URL": github.url, "CMO_BATCH_SIZE": "5"}
    for name, value in (env | {"CMO_GITHUB_MAX_RETRIES": "1"}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(stage_common, "LimitPolicy", functools.partial(LimitPolicy, backoff_base=0.01))

    def invoke(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result

    return invoke


def _state(job_id: str) -> RunState:
    return current_state(Settings(), job_id)[1]


def _error_of(state: RunState, stage: str, item: str) -> ErrorRecord:
    (found,) = [error for error in state["errors"] if (error["stage"], error["item"]) == (stage, item)]
    return found


def _outbox(tmp_path: Path, job_id: str) -> dict[str, int]:
    """The job's outbox files, with when each was last written."""
    return {path.name: path.stat().st_mtime_ns for path in (tmp_path / "data" / "outbox" / job_id).glob("*.eml")}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_failed_profile_is_recorded_counted_and_repaired_alone_by_retry_errors(
    tmp_path: Path,
    github: GitHubStandIn,
    cli: Cli,
    database: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if database == "postgresql":
        monkeypatch.setenv("CMO_CHECKPOINT_URL", request.getfixturevalue("postgres_url"))
    github.faults.append(Fault(rf"^/users/{FAILING}$", 500, times=2, body={"message": "Server Error"}))
    ran = json.loads(cli("run", GOAL, "--job-id", "flaky", *WORLD_ARGS, "--json").stdout)
    assert ran["status"] == "done" and ran["errors"] == 1, "one person's failure does not stop the campaign"
    assert (tmp_path / "data" / "cmo_agent.db").exists() == (database == "sqlite")
    assert github.count(rf"^/users/{FAILING}$") == 2, "one try and one retry, both refused"

    state = _state("flaky")
    error = _error_of(state, "enrich", FAILING)
    assert error["type"] == "GithubException" and "500" in error["message"] and "Server Error" in error["message"]
    assert error["traceback"].startswith("Traceback (most recent call last):") and 'File "' in error["traceback"]
    assert error["input"] == dict(state["candidates"][FAILING]) and error["input"]["login"] == FAILING
    assert error["attempts"] == 1 and "resolved_at" not in error
    assert state["leads"][FAILING]["status"] == "error" and FAILING not in state["to_send"]

    assert json.loads(cli("status", "flaky", "--json").stdout)["errors_by_stage"] == {"enrich": 1}
    assert "errors: enrich 1 " in cli("status", "flaky").stdout
    drafts, outbox = state["to_send"], _outbox(tmp_path, "flaky")
    assert len(outbox) == len(drafts) > 1

    github.requests.clear()  # the fault is spent: GitHub answers again
    retried = cli("resume", "flaky", "--retry-errors", "--json")
    summary = json.loads(retried.stdout)
    assert summary["status"] == "done" and summary["retried"] == {"enrich": [FAILING]}
    assert [request.path for request in github.requests] == [f"/users/{FAILING}"], "nobody else is looked up"

    state = _state("flaky")
    error = _error_of(state, "enrich", FAILING)
    assert error["resolved_at"] and error["attempts"] == 1
    assert state["leads"][FAILING]["status"] == "enriched" and state["leads"][FAILING]["error"] == ""
    assert state["to_send"][FAILING]["status"] == "written"
    assert {login: draft for login, draft in state["to_send"].items() if login != FAILING} == drafts
    assert _outbox(tmp_path, "flaky") == outbox | {f"{FAILING}.eml": _outbox(tmp_path, "flaky")[f"{FAILING}.eml"]}
    assert json.loads(cli("status", "flaky", "--json").stdout)["errors_by_stage"] == {}

    github.requests.clear()
    again = cli("resume", "flaky", "--retry-errors")
    assert again.stderr.strip().splitlines()[-1].startswith("note: nothing to retry")
    assert github.requests == [] and _state("flaky")["to_send"] == state["to_send"]


def test_a_failure_again_counts_an_attempt_and_stays_unresolved(
    tmp_path: Path, github: GitHubStandIn, cli: Cli
) -> None:
    outage = Fault(rf"^/users/{FAILING}$", 500, times=100)
    github.faults.append(outage)
    cli("run", GOAL, "--job-id", "down", *WORLD_ARGS)
    retried = json.loads(cli("resume", "down", "--retry-errors", "--json").stdout)
    assert retried["status"] == "done" and retried["retried"] == {"enrich": [FAILING]}
    error = _error_of(_state("down"), "enrich", FAILING)
    assert error["attempts"] == 2 and "resolved_at" not in error and "retry_requested_at" not in error
    assert json.loads(cli("status", "down", "--json").stdout)["errors_by_stage"] == {"enrich": 1}

    outage.times = 0
    assert json.loads(cli("resume", "down", "--retry-errors", "--json").stdout)["retried"] == {"enrich": [FAILING]}
    assert _error_of(_state("down"), "enrich", FAILING)["resolved_at"]


def test_a_failed_repository_is_listed_again_and_only_its_new_people_are_looked_up(
    tmp_path: Path, github: GitHubStandIn, demo_snapshot: dict[str, Any], cli: Cli
) -> None:
    github.faults.append(Fault(rf"^/repos/{FAILING_REPO}/contributors$", 502, times=2))
    settings = Settings()
    ran = start_campaign(settings, GOAL, WORLD, job_id="repo")
    assert ran.status == "done", ran.error
    error = _error_of(ran.state, "extract_candidates", FAILING_REPO)
    assert error["input"]["full_name"] == FAILING_REPO and error["type"] == "GithubException"
    before = ran.state
    assert json.loads(cli("status", "repo", "--json").stdout)["errors_by_stage"] == {"extract_candidates": 1}

    github.requests.clear()
    retried = resume_campaign(settings, "repo", retry_errors=True)
    assert retried.status == "done" and retried.retried == {"extract_candidates": [FAILING_REPO]}
    (listed,) = [r for r in demo_snapshot["repos"] if r["full_name"] == FAILING_REPO]
    newcomers = {person["login"] for person in listed["contributors"]} - set(before["candidates"])
    assert newcomers, "the repository brings people the other one does not"
    looked_up = sorted(r.path.removeprefix("/users/") for r in github.requests if r.path.startswith("/users/"))
    assert looked_up == sorted(newcomers & set(retried.state["candidates"]))
    assert github.count(r"/contributors$") == 1
    state = retried.state
    assert _error_of(state, "extract_candidates", FAILING_REPO)["resolved_at"]
    assert state["repos"][FAILING_REPO]["contributors_error"] == ""
    assert {login: d for login, d in state["to_send"].items() if login in before["to_send"]} == before["to_send"]
    assert set(state["to_send"]) > set(before["to_send"])


def test_retry_errors_waits_for_an_approval_and_then_asks_only_about_the_new_draft(
    tmp_path: Path, github: GitHubStandIn, cli: Cli
) -> None:
    github.faults.append(Fault(rf"^/users/{FAILING}$", 500, times=2))
    settings = Settings()
    gated = start_campaign(settings, GOAL, WORLD | {"require_approval": True}, job_id="gated")
    assert gated.status == "awaiting_approval"
    refused = cli("resume", "gated", "--retry-errors", code=2)
    assert refused.stderr.startswith("error: job 'gated' is waiting for approval") and refused.stderr.count("\n") == 1

    approved = approve_campaign(settings, "gated", [])
    assert approved.status == "done"
    outbox = _outbox(tmp_path, "gated")
    retried = resume_campaign(settings, "gated", retry_errors=True)
    assert retried.status == "awaiting_approval", retried.error
    assert retried.interrupt["drafts"] == 1 and [s["login"] for s in retried.interrupt["samples"]] == [FAILING]
    done = approve_campaign(settings, "gated", [])
    assert done.status == "done" and done.state["to_send"][FAILING]["status"] == "written"
    assert set(_outbox(tmp_path, "gated")) == set(outbox) | {f"{FAILING}.eml"}
    assert {name: at for name, at in _outbox(tmp_path, "gated").items() if name in outbox} == outbox


def test_a_stage_failure_is_resolved_by_the_resume_that_runs_the_stage_again(github: GitHubStandIn, cli: Cli) -> None:
    outage = Fault(r"^/search/", 503, times=100)
    github.faults.append(outage)
    failed = json.loads(cli("run", GOAL, "--job-id", "outage", *WORLD_ARGS, "--json", code=1).stdout)
    assert failed["status"] == "failed"
    error = _error_of(_state("outage"), "discover", "(stage)")
    assert error["context"] == {"stage_failed": True} and error["type"] == "GithubException"
    assert error["input"]["params"]["query"] == WORLD["query"] and error["attempts"] == 1
    assert json.loads(cli("status", "outage", "--json").stdout)["errors_by_stage"] == {"discover": 1}

    cli("resume", "outage", code=1)
    assert _error_of(_state("outage"), "discover", "(stage)")["attempts"] == 2

    outage.times = 0
    resumed = cli("resume", "outage", "--retry-errors", "--json")
    assert "nothing to retry" in resumed.stderr, "a stage failure is for resume itself, not for --retry-errors"
    assert json.loads(resumed.stdout)["status"] == "done"
    assert _error_of(_state("outage"), "discover", "(stage)")["resolved_at"]
    assert json.loads(cli("status", "outage", "--json").stdout)["errors_by_stage"] == {}
