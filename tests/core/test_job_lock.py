"""One runner per job: the lock is atomic, is seen by other processes, and dies with its holder —
on SQLite (a flock beside the database) and on PostgreSQL (an advisory lock)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmo_agent.core.job_lock import JobBusy, hold_job_lock, jobs_running
from tests.conftest import wait_until


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.e2e)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cmo_agent.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def _hold_until_killed(url: str, job_id: str, ready: multiprocessing.synchronize.Event) -> None:
    with hold_job_lock(url, job_id):
        ready.set()
        time.sleep(60)  # holds the lock until the test kills it


def test_a_held_lock_refuses_a_second_runner_and_is_seen_by_others(url: str) -> None:
    assert jobs_running(url, ["a", "b"]) == set()
    with hold_job_lock(url, "a"):
        assert jobs_running(url, ["a", "b"]) == {"a"}
        with pytest.raises(JobBusy), hold_job_lock(url, "a", wait=0.2):
            pass
        with hold_job_lock(url, "b"):  # other jobs are not affected
            assert jobs_running(url, ["a", "b"]) == {"a", "b"}
    assert jobs_running(url, ["a", "b"]) == set()
    with hold_job_lock(url, "a"):  # released: it can be taken again
        pass


@pytest.mark.e2e
def test_the_lock_dies_with_a_killed_holder(url: str) -> None:
    ready = multiprocessing.get_context("fork").Event()
    holder = multiprocessing.get_context("fork").Process(target=_hold_until_killed, args=(url, "job", ready))
    holder.start()
    try:
        assert ready.wait(30)
        assert jobs_running(url, ["job"]) == {"job"}
        with pytest.raises(JobBusy), hold_job_lock(url, "job", wait=0.2):
            pass
    finally:
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
    # PostgreSQL notices the closed connection a moment later.
    wait_until(lambda: not jobs_running(url, ["job"]), timeout=10, what="the lock's release")
    with hold_job_lock(url, "job", wait=5):
        assert jobs_running(url, ["job"]) == {"job"}


def test_probing_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none' / 'cmo_agent.db'}"
    assert jobs_running(url, ["job"]) == set()
    assert not (tmp_path / "none").exists()
