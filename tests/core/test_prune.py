"""`cmo-agent prune` of a finished job, in-process on SQLite: a job whose collections were written over
several checkpoints (DeltaChannel writes, rebuilt on read) shrinks to one self-contained checkpoint,
and `export`, `report`, `status`, `history` and `resume` answer as before. A whole campaign, on SQLite
and PostgreSQL: tests/campaign/test_prune.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cmo_agent.cli import app
from cmo_agent.core import checkpoint_prune
from cmo_agent.core.checkpointer import thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.job_lock import hold_job_lock
from cmo_agent.core.jobs import JobStatus
from cmo_agent.core.records import Candidate, Draft, Hygiene, Lead
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.runner import checkpoint_history, export_json, open_campaigns, prune_job
from tests.cli.conftest import FINISHED_AT, GOAL, finished_state

JOB = "stepped"
STEPS = 12


def write_stepped_job(data_dir: Path, job_id: str = JOB, status: JobStatus = "done") -> None:
    """A finished job written the way stages write one: the repositories first, then a lead, its
    candidate record and its draft per checkpoint, then the final stage's summary."""
    final = finished_state(job_id)
    settings = Settings(CMO_DATA_DIR=data_dir)
    config = thread_config(job_id)
    with open_campaigns(settings) as (graph, jobs), hold_job_lock(settings.resolved_checkpoint_url(), job_id):
        jobs.create(job_id, GOAL, final["params"])
        first = new_run_state(job_id, GOAL, final["params"]) | RunState(query=final["query"], repos=final["repos"])
        graph.update_state(config, first, as_node="discover")
        for n in range(STEPS):
            login, repo = f"dev{n:02d}", next(iter(final["repos"]))
            lead = Lead(
                login=login, repos={repo: n + 1}, contributions=n + 1, status="enriched", email=f"{login}@x.org"
            )
            lead |= {"address": f"{login}@x.org", "hygiene": Hygiene(ok=True, reason=None), "score": 50 + n}
            draft = Draft(login=login, to=f"{login}@x.org", subject=f"Hello {login}", status="written")
            step = RunState(
                candidates={login: Candidate(login=login, repos={repo: n + 1}, contributions=n + 1)},
                leads={login: lead},
                to_send={login: draft},
                counters={"github_api_calls": 1},
            )
            graph.update_state(config, step, as_node="enrich")
        rest = RunState(
            candidates=final["candidates"],
            leads=final["leads"],
            to_send=final["to_send"],
            reports=final["reports"],
            completed_at=FINISHED_AT,
        )
        graph.update_state(config, rest, as_node="report")
        jobs.set_status(job_id, status)


@pytest.fixture
def stepped(cli_env: Path) -> Path:
    write_stepped_job(cli_env)
    return cli_env


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CMO_CHECKPOINT_URL", "GITHUB_API_URL", "GITHUB_TOKEN", "OPENAI_API_KEY", "SMTP_HOST", "CMO_PITCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def _invoke(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def _without_flag(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in row.items() if key != "pruned"} for row in rows]


def test_prune_keeps_what_every_command_reads_and_says_what_it_freed(stepped: Path) -> None:
    settings = Settings(CMO_DATA_DIR=stepped)
    exported = export_json(settings, JOB)
    report = _invoke("report", JOB, "--json").stdout
    status = json.loads(_invoke("status", JOB, "--json").stdout)
    history = checkpoint_history(settings, JOB)
    file_before = (stepped / "cmo_agent.db").stat().st_size

    shown = json.loads(_invoke("prune", JOB, "--json").stdout)

    assert shown["pruned"] is True and shown["vacuumed"] is True and shown["database"] == "sqlite"
    assert shown["checkpoints"] == {"before": STEPS + 2, "after": 1}
    assert shown["rows"]["after"] < shown["rows"]["before"]
    assert shown["freed_bytes"] == shown["bytes"]["before"] - shown["bytes"]["after"] > 0
    assert shown["database_bytes"]["before"] >= file_before
    assert shown["database_bytes"]["after"] == (stepped / "cmo_agent.db").stat().st_size
    assert export_json(settings, JOB) == exported
    assert _invoke("report", JOB, "--json").stdout == report
    assert json.loads(_invoke("status", JOB, "--json").stdout) == status
    resumed = json.loads(_invoke("resume", JOB, "--json").stdout)
    assert resumed["status"] == "done" and resumed["funnel"] == status["funnel"]
    # Every step is still listed; the deleted ones say so, and their states are gone.
    after = checkpoint_history(settings, JOB)
    assert [row.get("pruned", False) for row in after] == [False] + [True] * (STEPS + 1)
    assert _without_flag(after)[1:] == history[1:]
    state = json.loads(exported)
    assert after[0]["counts"] == {key: len(state[key]) for key in ("repos", "candidates", "leads", "to_send", "errors")}
    kept = after[0]["checkpoint_id"]
    assert json.loads(_invoke("export", JOB, "--checkpoint", kept, "--out", "-").stdout) == state
    gone = _invoke("export", JOB, "--checkpoint", after[1]["checkpoint_id"], "--out", "-", code=2)
    assert "no checkpoint" in gone.stderr and "the job was pruned" in gone.stderr
    table = _invoke("history", JOB).stdout
    assert f"{STEPS + 1} checkpoints were pruned" in table and "(pruned)" in table


def test_pruning_twice_frees_nothing_more(stepped: Path) -> None:
    settings = Settings(CMO_DATA_DIR=stepped)
    first = prune_job(settings, JOB)
    exported = export_json(settings, JOB)
    rows = checkpoint_history(settings, JOB)

    again = prune_job(settings, JOB)

    assert first.freed_bytes > 0
    assert again.freed_bytes == 0 and again.before == again.after == first.after and not again.vacuumed
    assert export_json(settings, JOB) == exported and checkpoint_history(settings, JOB) == rows
    said = _invoke("prune", JOB).stdout
    assert said == f"job {JOB}: nothing to prune (1 checkpoint, {first.after.bytes / 1e6:,.1f} MB)\n"


def test_prune_says_what_it_freed_in_a_line_or_two(stepped: Path) -> None:
    lines = _invoke("prune", JOB).stdout.splitlines()
    assert lines[0].startswith(f"job {JOB} pruned: checkpoints {STEPS + 2} -> 1, rows ")
    assert "freed)" in lines[0]
    assert lines[1].startswith("database file ") and lines[1].endswith("(VACUUM ran)")


@pytest.mark.parametrize("status", ["paused", "failed", "waiting", "awaiting_approval"])
def test_a_job_that_is_not_done_is_refused_and_left_as_it_was(cli_env: Path, status: JobStatus) -> None:
    write_stepped_job(cli_env, status=status)
    settings = Settings(CMO_DATA_DIR=cli_env)
    rows = checkpoint_history(settings, JOB)
    database = (cli_env / "cmo_agent.db").read_bytes()

    refused = _invoke("prune", JOB, code=2)

    assert refused.stdout == ""
    assert refused.stderr == f"error: job {JOB!r} is {status}: only a done job can be pruned\n"
    assert checkpoint_history(settings, JOB) == rows
    assert (cli_env / "cmo_agent.db").read_bytes() == database


def test_a_job_that_does_not_exist_is_refused(stepped: Path) -> None:
    refused = _invoke("prune", "nope", code=2)
    assert refused.stderr.startswith("error: no job 'nope'")


def test_a_prune_stopped_before_its_deletions_leaves_a_readable_job_and_can_be_run_again(
    stepped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(CMO_DATA_DIR=stepped)
    exported = export_json(settings, JOB)
    history = checkpoint_history(settings, JOB)

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(checkpoint_prune, "_delete_sqlite", stop)
        with pytest.raises(KeyboardInterrupt):
            prune_job(settings, JOB)

    assert export_json(settings, JOB) == exported
    assert checkpoint_history(settings, JOB) == history  # every checkpoint is still there, listed once
    assert prune_job(settings, JOB).after.checkpoints == 1
    assert export_json(settings, JOB) == exported
    assert _without_flag(checkpoint_history(settings, JOB))[1:] == history[1:]
