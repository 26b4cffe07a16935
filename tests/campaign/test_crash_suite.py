"""The crash suite: a campaign killed with kill -9 at 20+ seeded instants spread over every stage and
the delivery window, and stopped by a double Ctrl-C at several more, then resumed until done.

Each time the final state equals an uninterrupted run's (timestamps aside), nobody receives two
messages, nothing eligible is dropped (a message a kill caught mid-transaction is `unknown`, never
resent), and `status` says done only once the final stage has run.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.core.checkpointer import thread_id_for
from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.runner import current_state
from tests.conftest import run_cli, start_cli, wait_until
from tests.loopback.openai_server import OpenAIStandIn
from tests.loopback.smtp_server import SmtpStandIn, delivery_env
from tests.stages.test_personalize import honest

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("CMO_CRASH_SEED", "20261127"))
KEY = "sk-crash-suite"
JOB = "crash"
ARGS = [
    "run",
    "Find active ML engineers",
    "--job-id",
    JOB,
    "--query",
    "topic:machine-learning archived:false",
    "--max-repos",
    "2",
    "--max-leads",
    "30",
    "--deliver",
    "smtp",
    "--yes",
]


@dataclass
class World:
    """One private world: GitHub, the model and the SMTP relay on loopback, and a data directory."""

    github: GitHubStandIn
    model: OpenAIStandIn
    smtp: SmtpStandIn
    env: dict[str, str]
    data: Path

    def checkpoints(self) -> int:
        db = self.data / "cmo_agent.db"
        if not db.exists():
            return 0
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            try:
                row = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", [thread_id_for(JOB)])
            except sqlite3.OperationalError:  # the table is not there yet
                return 0
            return int(row.fetchone()[0])

    def in_transaction(self) -> int:
        """Messages the ledger shows handed to the relay with no answer recorded yet (`sending`)."""
        with sqlite3.connect(f"file:{self.data / 'cmo_agent.db'}?mode=ro", uri=True, timeout=5) as conn:
            try:
                row = conn.execute("SELECT count(*) FROM cmo_ledger WHERE job_id = ? AND state = 'sending'", [JOB])
            except sqlite3.OperationalError:  # no ledger yet: nothing was being sent
                return 0
            return int(row.fetchone()[0])

    def progress(self, measure: str) -> int:
        if measure == "checkpoints":
            return self.checkpoints()
        if measure == "github":
            return len(self.github.requests)
        if measure == "model":
            return self.model.count()
        return len(self.smtp.messages)


@contextmanager
def world(snapshot: dict[str, Any], base_env: dict[str, str], data: Path) -> Iterator[World]:
    with GitHubStandIn(snapshot) as github, OpenAIStandIn(honest, api_key=KEY) as model, SmtpStandIn() as smtp:
        env = base_env | {
            "CMO_DATA_DIR": str(data),
            "GITHUB_API_URL": github.url,
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": model.url,
            "CMO_LLM_MAX_RETRIES": "0",
            **delivery_env(smtp),
            "CMO_BATCH_SIZE": "10",
            "CMO_GITHUB_WORKERS": "2",
            "CMO_LLM_WORKERS": "2",
        }
        yield World(github, model, smtp, env, data)


def outcome(data: Path) -> dict[str, Any]:
    """What a run decided about each person and each message, without timestamps."""
    job, state = current_state(Settings(CMO_DATA_DIR=data), JOB)
    return {
        "status": job.shown_status,
        "reason": job.error,
        "completed": bool(state.get("completed_at")),
        "leads": {
            login: (lead.get("status"), lead.get("address"), lead.get("hygiene", {}).get("ok"), lead.get("score"))
            for login, lead in state.get("leads", {}).items()
        },
        "drafts": {
            login: (draft["to"], draft["subject"], draft["body"], draft["generator"], draft["message_id"])
            for login, draft in state.get("to_send", {}).items()
        },
        "delivery": {login: draft["status"] for login, draft in state.get("to_send", {}).items()},
    }


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, demo_snapshot: dict[str, Any], base_env: dict[str, str]
) -> dict[str, Any]:
    """An uninterrupted run of the same campaign, and how far each measure of progress goes in it."""
    data = tmp_path_factory.mktemp("reference") / "data"
    with world(demo_snapshot, base_env, data) as ref:
        done = run_cli(ARGS, ref.env, data.parent)
        assert done.returncode == 0, done.stdout + done.stderr
        totals = {measure: ref.progress(measure) for measure in ("checkpoints", "github", "model", "smtp")}
    result = outcome(data)
    assert result["completed"] and set(result["delivery"].values()) == {"sent"}
    assert len(result["drafts"]) == 30 and totals["model"] >= 30 and totals["smtp"] == 30
    return result | {"totals": totals}


@pytest.fixture(scope="module")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The conftest environment, for a module-scoped reference run."""
    scrubbed = ("GITHUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "CMO_CHECKPOINT_URL", "GITHUB_API_URL")
    env = {k: v for k, v in os.environ.items() if k not in scrubbed and k != "SMTP_HOST"}
    return env | {
        "CMO_GITHUB_MAX_PER_MIN": "60000",
        "CMO_MX_CHECK": "false",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass(frozen=True)
class Instant:
    """Stop the run once `measure` reached `at`, with kill -9 or a double Ctrl-C."""

    measure: str
    fraction: float
    """Where in the reference run's total of `measure` to stop."""
    how: str

    def __str__(self) -> str:
        return f"{self.how}@{self.measure}:{self.fraction:.3f}"

    def position(self, total: int) -> int:
        """A point strictly inside (0, total)."""
        return max(1, min(total - 1, int(self.fraction * total)))


def instants() -> list[Instant]:
    """Seeded instants: kill -9 over checkpoints (every stage boundary), GitHub requests (discovery and
    enrichment), model requests (drafting) and sent messages (the delivery window); double Ctrl-C at
    some of each. Where they fall depends only on the seed and the reference run's totals."""
    rng = random.Random(SEED)
    plan = [("checkpoints", 6, "kill"), ("github", 5, "kill"), ("model", 4, "kill"), ("smtp", 7, "kill")]
    plan += [("checkpoints", 1, "ctrl-c"), ("github", 1, "ctrl-c"), ("model", 1, "ctrl-c"), ("smtp", 1, "ctrl-c")]
    return [Instant(measure, rng.random(), how) for measure, count, how in plan for _ in range(count)]


def _stop(proc: subprocess.Popen[str], how: str) -> None:
    if how == "kill":
        proc.send_signal(signal.SIGKILL)
    else:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.03)  # a person's second press comes a moment later; two at once may arrive as one
        proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)


def _run_until(w: World, measure: str, at: int) -> subprocess.Popen[str]:
    proc = start_cli(ARGS, w.env, w.data.parent)
    wait_until(lambda: w.progress(measure) >= at, timeout=90, proc=proc, what=f"{measure} reaching {at}", every=0.003)
    return proc


@pytest.mark.parametrize("instant", instants(), ids=str)
def test_stopped_at_any_instant_then_resumed_ends_as_if_never_stopped(
    instant: Instant,
    reference: dict[str, Any],
    demo_snapshot: dict[str, Any],
    base_env: dict[str, str],
    tmp_path: Path,
) -> None:
    at = instant.position(reference["totals"][instant.measure])
    with world(demo_snapshot, base_env, tmp_path / "data") as w:
        proc = _run_until(w, instant.measure, at)
        _stop(proc, instant.how)
        caught = w.in_transaction()  # a kill -9 at any instant of delivery may catch one message mid-way
        assert caught <= (1 if instant.how == "kill" else 0)
        if instant.how == "ctrl-c":
            assert proc.returncode in (0, 3), f"a double Ctrl-C is recorded as paused: {proc.returncode}"
        stopped = outcome(w.data)
        assert stopped["status"] != "done" or stopped["completed"], "done only when the final stage ran"

        for _ in range(4):
            if stopped["status"] == "done":
                break
            resumed = run_cli(["resume", JOB], w.env, w.data.parent)
            assert resumed.returncode in (0, 3), resumed.stdout + resumed.stderr
            assert "Traceback" not in resumed.stderr
            stopped = outcome(w.data)
        received = Counter(rcpt.lower() for message in w.smtp.messages for rcpt in message.rcpt_tos)

    final = stopped
    assert final["status"] == "done" and final["completed"], final["reason"]
    assert final["leads"] == reference["leads"]
    assert final["drafts"] == reference["drafts"], "every eligible lead got the same draft"
    assert all(n == 1 for n in received.values()), f"someone got two messages: {received.most_common(2)}"
    unknown = [login for login, status in final["delivery"].items() if status == "unknown"]
    assert len(unknown) <= caught, "only a message a kill caught mid-transaction is unknown"
    for login, status in final["delivery"].items():
        address = reference["drafts"][login][0].lower()
        if status == "sent":
            assert received[address] == 1, f"{login} is marked sent but got {received[address]} messages"
        else:
            assert status == "unknown" and received[address] <= 1, (login, status)
