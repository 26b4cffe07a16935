"""A finished job for the in-process CLI tests, written straight into a data directory: the job record
and one checkpoint after the final stage, as a finished campaign leaves them, with no campaign run
(no stand-in, no network), so that status, export, history and resume are tested in the fast tier."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cmo_agent.core.checkpointer import thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.job_lock import hold_job_lock
from cmo_agent.core.records import Candidate, Draft, Hygiene, Lead, Repo, RunParams
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.runner import open_campaigns

GOAL = "Find active ML engineers"
FINISHED = "done"
"""The id of the finished job in `finished_data`."""
FINISHED_AT = "2026-11-27T09:30:00+00:00"


def finished_state(job_id: str) -> RunState:
    """The RunState of a small finished campaign: one repository, two people, one drafted and written to the outbox."""
    params = RunParams(max_repos=1, email_sources=["profile"], deliver="outbox")
    repo = "lumenlabs/tensorforge"
    ada = Lead(login="ada", repos={repo: 12}, contributions=12, status="enriched", email="ada@example.org")
    ada |= {"email_source": "profile", "address": "ada@example.org", "hygiene": Hygiene(ok=True, reason=None)}
    ada |= {"score": 80, "score_reasons": ["+80 works on machine-learning"], "qualified": True}
    bob = Lead(login="bob", repos={repo: 1}, contributions=1, status="enriched", email=None)
    bob |= {"hygiene": Hygiene(ok=False, reason="no_address"), "address": None}
    draft = Draft(login="ada", to="ada@example.org", subject="Your work on tensorforge", status="written")
    return new_run_state(job_id, GOAL, params) | RunState(
        query="topic:machine-learning archived:false",
        repos={repo: Repo(full_name=repo, stars=120, contributors_fetched=True, contributors=2)},
        candidates={
            "ada": Candidate(login="ada", repos={repo: 12}, contributions=12),
            "bob": Candidate(login="bob", repos={repo: 1}, contributions=1),
        },
        leads={"ada": ada, "bob": bob},
        to_send={"ada": draft},
        counters={"github_api_calls": 7},
        reports={"summary": {"outbox": f"data/outbox/{job_id}", "finished_at": FINISHED_AT}},
        completed_at=FINISHED_AT,
    )


def write_finished_job(data_dir: Path, job_id: str = FINISHED) -> RunState:
    """Record `job_id` as done in `data_dir`'s database, its state checkpointed after the final stage
    (under the job's lock, as a run writes it)."""
    state = finished_state(job_id)
    settings = Settings(CMO_DATA_DIR=data_dir)
    with open_campaigns(settings) as (graph, jobs), hold_job_lock(settings.resolved_checkpoint_url(), job_id):
        jobs.create(job_id, GOAL, state["params"])
        graph.update_state(thread_config(job_id), state, as_node="report")
        jobs.set_status(job_id, "done")
    return state


@pytest.fixture(scope="session")
def finished_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the finished job `done` (written once; copy it before changing it)."""
    data = tmp_path_factory.mktemp("finished") / "data"
    write_finished_job(data)
    return data


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment of an in-process CLI call: a private CMO_DATA_DIR (returned, not created) under
    the test's directory, which is also the working directory (no stray .env is read), no credentials."""
    for name in ("CMO_CHECKPOINT_URL", "GITHUB_API_URL", "GITHUB_TOKEN", "OPENAI_API_KEY", "SMTP_HOST", "CMO_PITCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


@pytest.fixture
def with_finished_job(cli_env: Path, finished_data: Path) -> Path:
    """`cli_env` with a copy of the finished job `done` in it."""
    shutil.copytree(finished_data, cli_env)
    return cli_env
