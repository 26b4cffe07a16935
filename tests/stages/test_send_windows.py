"""Send windows on a campaign in process, with a frozen clock: four people in four zones (three known
from their commits, one in the sender's), first emails and a follow-up to the outbox. At each instant
only those inside `Mon-Fri 09:00-17:00` on their own clock get mail, the one whose window closes
first before the others; the job waits ("waiting", exit 3, `status --json` `due_at`) until the next
window opens, `resume` before then writes nothing, and in the end everyone got each message once."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Literal

import pytest
from typer.testing import CliRunner

from cmo_agent.cli import EXIT_CODES, app
from cmo_agent.core import clock
from cmo_agent.core.checkpointer import thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.job_lock import hold_job_lock
from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.records import Draft, Lead, RunParams, UtcOffset
from cmo_agent.core.state import RunState
from cmo_agent.runner import RunOutcome, current_state, open_campaigns, resume_campaign, values_of
from cmo_agent.stages.follow_up import due_at
from tests.campaign_states import drafted_campaign, ready_lead
from tests.loopback.smtp_server import SmtpStandIn, delivery_env

JOB = "windows"
REPO = "lumenlabs/tensorforge"
SENDER = "dana@example.com"
OFFSETS = {"nora": -300, "bert": 60, "kenji": 540, "sam": None}
"""Minutes east of UTC from each one's commits; sam's are unknown, so the sender's zone (Los Angeles) applies."""


def _lead(login: str, minutes: int | None) -> Lead:
    lead = ready_lead(login, REPO)
    if minutes is not None:
        lead["utc_offset"] = UtcOffset(minutes=minutes, seen=9, of=10, evidence=[])
    return lead


def _approved_state(params: RunParams) -> RunState:
    """A campaign whose first emails are drafted and approved."""
    leads = {login: _lead(login, minutes) for login, minutes in OFFSETS.items()}
    return drafted_campaign(JOB, SENDER, REPO, leads, params, Draft(status="drafted"))


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment the in-process runs and CLI calls share (the CLI reads it again)."""
    for name in ("CMO_CHECKPOINT_URL", "OPENAI_API_KEY", "IMAP_HOST", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CMO_SENDER_EMAIL", SENDER)
    monkeypatch.setenv("CMO_SEND_WINDOW", "Mon-Fri 09:00-17:00")
    monkeypatch.setenv("CMO_SENDER_TZ", "America/Los_Angeles")
    monkeypatch.setenv("CMO_BATCH_SIZE", "1")  # one message per step: the order shows in the checkpoints
    settings = Settings()
    _seed(settings, RunParams(deliver="outbox", follow_ups=1, follow_up_after="1d"))
    return settings


def _seed(settings: Settings, params: RunParams) -> None:
    with open_campaigns(settings) as (graph, jobs), hold_job_lock(settings.resolved_checkpoint_url(), JOB):
        state = _approved_state(params)
        jobs.create(JOB, state["goal"], state["params"])
        graph.update_state(thread_config(JOB), state, as_node="approve")
        jobs.set_status(JOB, "paused")


def _resume_at(settings: Settings, instant: str) -> RunOutcome:
    """`resume` at `instant`, with the settings the environment holds then."""
    with clock.frozen(datetime.fromisoformat(instant)):
        return resume_campaign(Settings(), JOB)


def _written(state: RunState, collection: Literal["to_send", "follow_ups"] = "to_send") -> list[str]:
    drafts = state.get("follow_ups", {}) if collection == "follow_ups" else state.get("to_send", {})
    return sorted(draft["login"] for draft in drafts.values() if draft.get("status") == "written")


def _outbox(settings: Settings) -> list[str]:
    return sorted(path.name for path in (settings.data_dir / "outbox" / JOB).glob("*.eml"))


def _order_written(settings: Settings) -> list[str]:
    """The logins whose first email each deliver step wrote, oldest step first."""
    with open_campaigns(settings, create=False) as (graph, _):
        history = list(graph.get_state_history(thread_config(JOB)))
    order: list[str] = []
    for snapshot in reversed(history):
        for login in _written(values_of(snapshot)):
            if login not in order:
                order.append(login)
    return order


def _checkpoints(settings: Settings) -> int:
    with open_campaigns(settings, create=False) as (graph, _):
        return len(list(graph.get_state_history(thread_config(JOB))))


def _status(settings: Settings) -> dict[str, object]:
    result = CliRunner().invoke(app, ["status", JOB, "--json"])
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_each_message_goes_inside_its_recipient_s_window_and_the_job_waits_for_the_next(settings: Settings) -> None:
    # Monday 15:30 UTC: 10:30 in New York and 16:30 in Paris (open), 00:30 on Tuesday in Tokyo and
    # 07:30 in Los Angeles (closed). Paris closes first, so bert goes before nora.
    first = _resume_at(settings, "2026-11-30T15:30+00:00")
    assert first.status == "waiting" and EXIT_CODES[first.status] == 3
    assert first.reason == "send window opens 2026-11-30T09:00-08:00 for 1 draft"
    assert _order_written(settings) == ["bert", "nora"]
    assert _outbox(settings) == ["bert.eml", "nora.eml"]
    assert due_at(first.state) == datetime.fromisoformat("2026-11-30T17:00+00:00").timestamp()
    status = _status(settings)
    assert status["status"] == "waiting" and status["error"] == first.reason
    assert status["due_at"] == "2026-11-30T17:00:00+00:00"

    before = _checkpoints(settings)
    early = _resume_at(settings, "2026-11-30T16:59+00:00")  # before the window opens: nothing at all
    assert early.status == "waiting" and early.reason == first.reason
    assert _checkpoints(settings) == before and _outbox(settings) == ["bert.eml", "nora.eml"]

    second = _resume_at(settings, "2026-11-30T17:30+00:00")  # 09:30 in Los Angeles
    assert second.status == "waiting" and second.reason == "send window opens 2026-12-01T09:00+09:00 for 1 draft"
    assert _written(second.state) == ["bert", "nora", "sam"]

    # Tuesday 00:30 UTC, 09:30 in Tokyo: the last first email, then the follow-up is due a day later.
    third = _resume_at(settings, "2026-12-01T00:30+00:00")
    assert third.status == "waiting" and third.reason == "follow-up 1 of 1 due 2026-12-02 00:30:00 UTC"
    assert _written(third.state) == sorted(OFFSETS)
    assert _status(settings)["due_at"] == "2026-12-02T00:30:00+00:00"
    assert not third.state["reports"]["send_window"]  # the window's wait is over

    # Wednesday 00:31 UTC: the follow-up is due; 16:31 in Los Angeles and 09:31 in Tokyo are open.
    fourth = _resume_at(settings, "2026-12-02T00:31+00:00")
    assert fourth.status == "waiting" and fourth.reason == "send window opens 2026-12-02T09:00+01:00 for 1 draft"
    assert _written(fourth.state, "follow_ups") == ["kenji", "sam"]
    assert _status(settings)["due_at"] == "2026-12-02T08:00:00+00:00"

    fifth = _resume_at(settings, "2026-12-02T08:00+00:00")
    assert fifth.status == "waiting" and fifth.reason == "send window opens 2026-12-02T09:00-05:00 for 1 draft"
    last = _resume_at(settings, "2026-12-02T14:05+00:00")
    assert last.status == "done", last.reason

    job, state = current_state(settings, JOB)
    assert job.status == "done"
    assert _written(state) == _written(state, "follow_ups") == sorted(OFFSETS)
    assert state["counters"]["outbox_written"] == 4 and state["counters"]["follow_up_outbox_written"] == 4
    assert _outbox(settings) == sorted(f"{login}{suffix}.eml" for login in OFFSETS for suffix in ("", ".follow-up-1"))


def test_without_a_window_everyone_goes_at_once(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMO_SEND_WINDOW")
    outcome = _resume_at(settings, "2026-11-30T15:30+00:00")
    assert outcome.status == "waiting" and outcome.reason is not None and outcome.reason.startswith("follow-up 1")
    assert _written(outcome.state) == sorted(OFFSETS)


def test_a_changed_window_is_applied_on_resume(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wait computed with one window does not hold a job whose operator has since widened it."""
    first = _resume_at(settings, "2026-11-30T15:30+00:00")
    assert first.status == "waiting" and _written(first.state) == ["bert", "nora"]
    monkeypatch.setenv("CMO_SEND_WINDOW", "00:00-24:00")
    again = _resume_at(settings, "2026-11-30T15:40+00:00")
    assert _written(again.state) == sorted(OFFSETS)


@pytest.mark.e2e
def test_smtp_follows_the_same_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpStandIn) -> None:
    """Over SMTP (the loopback relay): the same people at the same instants, in the same order, each once."""
    for name in ("CMO_CHECKPOINT_URL", "OPENAI_API_KEY", "IMAP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    environment = delivery_env(smtp) | {
        "CMO_DATA_DIR": str(tmp_path / "data"),
        "CMO_SEND_WINDOW": "Mon-Fri 09:00-17:00",
        "CMO_SENDER_TZ": "America/Los_Angeles",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    _seed(settings, RunParams(deliver="smtp", require_approval=False))

    def received() -> list[str]:
        return [rcpt.split("@")[0] for message in smtp.messages for rcpt in message.rcpt_tos]

    first = _resume_at(settings, "2026-11-30T15:30+00:00")
    assert first.status == "waiting" and first.reason == "send window opens 2026-11-30T09:00-08:00 for 1 draft"
    assert received() == ["bert", "nora"]  # Paris closes before New York
    assert _resume_at(settings, "2026-11-30T16:00+00:00").status == "waiting" and received() == ["bert", "nora"]
    second = _resume_at(settings, "2026-11-30T17:00+00:00")
    assert second.status == "waiting" and received() == ["bert", "nora", "sam"]
    last = _resume_at(settings, "2026-12-01T00:00+00:00")
    assert last.status == "done", last.reason
    assert received() == ["bert", "nora", "sam", "kenji"]
    with open_ledger(settings) as ledger:
        assert sorted(entry.login for entry in ledger.entries(JOB) if entry.state == "sent") == sorted(OFFSETS)
