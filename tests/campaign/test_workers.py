"""Queue workers on PostgreSQL (`run --enqueue`, `cmo-agent worker`): several workers drain many jobs,
one killed with kill -9 mid-delivery leaves its job to another, nobody is mailed twice; a drained
worker hands its job on; follow-up steps are scheduled at their due time; a job another process
holds is not run twice. Real processes, loopback GitHub and SMTP, the machine's PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.core.jobs import Job, open_job_store
from cmo_agent.core.ledger import open_ledger
from cmo_agent.demo.github_server import GitHubStandIn
from tests.conftest import REPO_ROOT, wait_until
from tests.loopback.smtp_server import SmtpStandIn, delivery_env

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"
CMO = str(Path(sys.executable).parent / "cmo-agent")


@pytest.fixture
def env(
    base_env: dict[str, str], postgres_url: str, github: GitHubStandIn, smtp: SmtpStandIn, tmp_path: Path
) -> dict[str, str]:
    return (
        base_env
        | delivery_env(smtp)
        | {
            "CMO_CHECKPOINT_URL": postgres_url,
            "GITHUB_API_URL": github.url,
            "CMO_WORKER_HEARTBEAT": "0.5",
            "CMO_WORKER_STALLED_AFTER": "3",
        }
    )


def _cmo(env: dict[str, str], *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([CMO, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    if code is not None:
        assert done.returncode == code, (args, done.stdout, done.stderr)
    return done


class Workers:
    """`cmo-agent worker` processes, each with its own log."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, list[subprocess.Popen[bytes]]()

    def start(self, concurrency: int = 1) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [CMO, "worker", "--concurrency", str(concurrency)], env=self.env, cwd=REPO_ROOT, stdout=log, stderr=log
        )
        self.procs.append(proc)
        return proc

    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.logs.glob("worker-*.log")))


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(env, tmp_path)
    try:
        yield pool
    finally:
        for proc in pool.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _jobs(env: dict[str, str]) -> dict[str, Job]:
    with open_job_store(env["CMO_CHECKPOINT_URL"]) as store:
        return {job.job_id: job for job in store.list()}


def _all_done(env: dict[str, str], ids: list[str], workers: Workers) -> bool:
    jobs = _jobs(env)
    failed = [job_id for job_id in ids if jobs[job_id].status == "failed"]
    assert not failed, (failed, workers.output())
    return all(jobs[job_id].status == "done" for job_id in ids)


def _settings(env: dict[str, str]) -> Settings:
    return Settings.model_validate(
        {"CMO_CHECKPOINT_URL": env["CMO_CHECKPOINT_URL"], "CMO_DATA_DIR": env["CMO_DATA_DIR"]}
    )


def test_three_workers_drain_ten_jobs_and_one_killed_mid_delivery_mails_nobody_twice(
    env: dict[str, str], workers: Workers, smtp: SmtpStandIn
) -> None:
    smtp.latency = 0.15  # each message takes a while, so a worker can be caught mid-delivery
    ids = [f"q{n:02d}" for n in range(10)]
    for job_id in ids:
        queued = json.loads(
            _cmo(env, "run", GOAL, "--job-id", job_id, "--max-repos", "1", "--max-leads", "6",
                 "--deliver", "smtp", "--yes", "--enqueue", "--json").stdout
        )  # fmt: skip
        assert (queued["job_id"], queued["status"]) == (job_id, "queued")
    assert {job.status for job in _jobs(env).values()} == {"queued"}
    victim, *_ = [workers.start() for _ in range(3)]

    def victim_is_sending() -> bool:
        assert victim.poll() is None, workers.output()
        held = [job for job in _jobs(env).values() if job.pid == victim.pid and job.shown_status == "running"]
        if not held:
            return False
        with open_ledger(_settings(env)) as ledger:
            states = [entry.state for entry in ledger.entries(held[0].job_id)]
        return "sent" in states and len([s for s in states if s == "sent"]) < 6

    wait_until(victim_is_sending, timeout=120, what="the first worker in the middle of a delivery", every=0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)

    wait_until(lambda: _all_done(env, ids, workers), timeout=180, what="every job done", every=0.5)

    message_ids = [str(message.message["Message-ID"]) for message in smtp.messages]
    assert len(message_ids) == len(set(message_ids)), "a Message-ID went out twice"
    with open_ledger(_settings(env)) as ledger:
        job_of = {entry.message_id: entry.job_id for job_id in ids for entry in ledger.entries(job_id)}
    per_job = Counter((job_of[mid], rcpt.lower()) for mid, m in zip(message_ids, smtp.messages, strict=True)
                      for rcpt in m.rcpt_tos)  # fmt: skip
    assert max(per_job.values()) == 1, "an address was mailed twice within a job"
    assert {job_of[mid] for mid in message_ids} == set(ids)
    assert "queued again" in workers.output()  # the dead worker's task was put back by another worker


def test_a_drained_worker_hands_its_job_on_and_a_scheduled_follow_up_runs_when_due(
    env: dict[str, str], workers: Workers, smtp: SmtpStandIn
) -> None:
    smtp.latency = 0.3
    _cmo(env, "run", GOAL, "--job-id", "seq", "--max-repos", "1", "--max-leads", "5", "--deliver", "smtp", "--yes",
         "--follow-ups", "1", "--follow-up-after", "6s", "--enqueue")  # fmt: skip
    first = workers.start()
    wait_until(lambda: smtp.count() >= 1, timeout=120, what="the first message", every=0.02)
    first.send_signal(signal.SIGTERM)  # drains: the job stops after its step and is queued again
    assert first.wait(timeout=60) == 0, workers.output()
    assert _jobs(env)["seq"].status == "paused"
    sent_before = smtp.count()
    assert sent_before < 5

    workers.start()
    wait_until(lambda: _jobs(env)["seq"].status == "waiting", timeout=120, what="the job waiting", every=0.2)
    assert smtp.count() == 5  # every first message, once
    status = json.loads(_cmo(env, "status", "seq", "--json").stdout)
    assert status["due_at"]
    wait_until(lambda: _jobs(env)["seq"].status == "done", timeout=60, what="the follow-up step", every=0.2)
    follow_ups = [m for m in smtp.messages if str(m.message["Subject"]).startswith("Re: ")]
    assert len(follow_ups) == 5 and smtp.count() == 10


def test_a_job_another_process_holds_is_not_run_by_a_worker(env: dict[str, str], workers: Workers) -> None:
    from cmo_agent.core.job_lock import hold_job_lock

    _cmo(env, "run", GOAL, "--job-id", "held", "--max-repos", "1", "--max-leads", "2", "--enqueue")
    with hold_job_lock(env["CMO_CHECKPOINT_URL"], "held"):
        workers.start()
        wait_until(lambda: "skipped for now" in workers.output(), timeout=60, what="the worker skipping", every=0.2)
        assert _jobs(env)["held"].status == "queued"
    # Once the other process is gone, the task queued again for later runs it.
    wait_until(lambda: _all_done(env, ["held"], workers), timeout=60, what="the held job done", every=0.2)


def test_the_queue_needs_postgresql_and_a_queued_job_is_not_queued_twice(env: dict[str, str]) -> None:
    sqlite_env = env | {"CMO_CHECKPOINT_URL": ""}
    refused = _cmo(sqlite_env, "run", GOAL, "--demo", "--enqueue", code=2)
    assert refused.stderr.count("\n") == 1 and "needs PostgreSQL" in refused.stderr
    assert _cmo(sqlite_env, "worker", code=2).stderr.count("\n") == 1
    _cmo(env, "run", GOAL, "--demo", "--job-id", "twice", "--enqueue")
    again = _cmo(env, "resume", "twice", "--enqueue")
    assert "already queued" in again.stdout
