"""`status`, `export`, `history` and `resume` of a finished job, run in-process (CliRunner): what they
print, what export writes, and that none of them runs anything or writes where it should not."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from cmo_agent.cli import app
from cmo_agent.core.config import Settings
from cmo_agent.runner import open_campaigns
from tests.cli.conftest import FINISHED, FINISHED_AT, GOAL, finished_state


def _invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    assert result.stderr == ""
    return result


def test_status_json_is_the_job_record_with_its_funnel_and_completion(with_finished_job: Path) -> None:
    shown = json.loads(_invoke("status", FINISHED, "--json").stdout)
    assert (shown["job_id"], shown["goal"]) == (FINISHED, GOAL)
    assert shown["status"] == shown["shown_status"] == shown["recorded_status"] == "done"
    assert shown["completed_at"] == FINISHED_AT and shown["errors"] == 0
    assert shown["counters"] == {"github_api_calls": 7}
    assert shown["funnel"]["repos"] == 1 and shown["funnel"]["candidates"] == 2
    assert shown["funnel"]["valid_address"] == shown["funnel"]["drafted"] == shown["funnel"]["delivered"] == 1
    listed = json.loads(_invoke("status", "--json").stdout)
    assert [(job["job_id"], job["status"]) for job in listed] == [(FINISHED, "done")]


def test_status_for_people_is_a_few_lines_and_a_table_of_jobs(with_finished_job: Path) -> None:
    lines = _invoke("status", FINISHED).stdout.splitlines()
    assert lines[0] == f"job {FINISHED}: done   goal: {GOAL}"
    assert "funnel: repos 1  candidates 2" in lines[2]
    assert lines[-1] == "github requests 7   errors 0"
    table = _invoke("status").stdout
    assert FINISHED in table and GOAL in table and "done" in table


def test_status_without_a_database_says_so_and_creates_nothing(cli_env: Path) -> None:
    assert _invoke("status").stdout == "no jobs yet: start one with `cmo-agent run GOAL`\n"
    assert json.loads(_invoke("status", "--json").stdout) == []
    assert not cli_env.exists()


def test_a_job_that_died_before_its_first_checkpoint_is_shown_interrupted(cli_env: Path) -> None:
    with open_campaigns(Settings(CMO_DATA_DIR=cli_env)) as (_, jobs):  # what a run records just before its graph
        jobs.create("early", GOAL, {"max_repos": 2})
    shown = json.loads(_invoke("status", "early", "--json").stdout)
    assert shown["status"] == "interrupted" and shown["recorded_status"] == "running"
    assert shown["completed_at"] is None and shown["funnel"]["repos"] == 0


def test_export_writes_the_run_state_beside_the_database_and_says_where(with_finished_job: Path) -> None:
    written = Path(_invoke("export", FINISHED).stdout.strip())
    assert written == with_finished_job / f"runstate_{FINISHED}.json"
    exported = json.loads(written.read_text())
    expected = finished_state(FINISHED)
    for key in ("job_id", "goal", "query", "repos", "candidates", "leads", "to_send", "counters", "completed_at"):
        assert exported[key] == expected[key], key
    assert oct(written.stat().st_mode & 0o777) == "0o600", "exports hold personal data"
    assert _invoke("export", FINISHED, "--out", "-").stdout == written.read_text()
    assert Path(_invoke("export", FINISHED).stdout.strip()) == written, "the default file is refreshed, not refused"


def test_history_lists_the_checkpoints_newest_first(with_finished_job: Path) -> None:
    rows = json.loads(_invoke("history", FINISHED, "--json").stdout)
    assert rows and rows[0]["next"] == []
    assert rows[0]["counts"] == {"repos": 1, "candidates": 2, "leads": 2, "to_send": 1, "errors": 0}
    steps = [row["step"] for row in rows]
    assert steps == sorted(steps, reverse=True)
    assert rows[0]["checkpoint_id"] in _invoke("history", FINISHED).stdout


def test_resuming_a_finished_job_says_done_and_runs_nothing(with_finished_job: Path) -> None:
    before = json.loads(_invoke("history", FINISHED, "--json").stdout)
    summary = json.loads(_invoke("resume", FINISHED, "--json").stdout)
    assert summary["status"] == "done" and summary["funnel"]["drafted"] == 1
    assert json.loads(_invoke("history", FINISHED, "--json").stdout) == before, "no step ran"
    assert not (with_finished_job / "outbox").exists(), "nothing was delivered again"
