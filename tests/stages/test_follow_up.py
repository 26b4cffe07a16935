"""Follow-ups in process, on a job whose first messages are in the outbox: the wait (status, exit,
nothing written before the due time), who each step goes to, threading, and the report by step."""

from __future__ import annotations

import email
import time
from email.message import Message
from pathlib import Path

import pytest

from cmo_agent.core.checkpointer import thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import ConfigError
from cmo_agent.core.job_lock import hold_job_lock
from cmo_agent.core.params import duration_seconds, validate_params
from cmo_agent.core.records import Draft, Lead, RunParams
from cmo_agent.core.state import RunState
from cmo_agent.core.suppression import open_suppressions
from cmo_agent.drafting.follow_up import follow_up_subject
from cmo_agent.mail.message import message_id_for
from cmo_agent.reporting import job_report
from cmo_agent.runner import checkpoint_history, current_state, open_campaigns, resume_campaign
from cmo_agent.stages.follow_up import stop_reason
from tests.campaign_states import drafted_campaign, ready_lead

JOB = "fu"
REPO = "lumenlabs/tensorforge"
SENDER = "dana@example.com"
PEOPLE = {"ada": None, "cy": "replied", "dee": "auto_replied", "eve": None, "fay": "unsubscribed"}


def _lead(login: str, outcome: str | None) -> Lead:
    lead = ready_lead(login, REPO)
    if outcome is not None:
        lead |= {"outcome": outcome, "outcome_at": "2026-11-27T10:00:00+00:00"}  # type: ignore[typeddict-item]
    return lead


def _delivered_state(steps: int, after: str) -> RunState:
    """A campaign whose first messages are all in the outbox, with follow-ups to come."""
    params = RunParams(deliver="outbox", follow_ups=steps, follow_up_after=after)
    leads = {login: _lead(login, outcome) for login, outcome in PEOPLE.items()}
    return drafted_campaign(
        JOB, SENDER, REPO, leads, params, Draft(status="written", delivered_at="2026-11-27T09:00:00+00:00")
    )


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("CMO_CHECKPOINT_URL", "OPENAI_API_KEY", "IMAP_HOST", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CMO_SENDER_EMAIL", SENDER)
    return Settings(CMO_DATA_DIR=tmp_path / "data")


def _seed(settings: Settings, state: RunState) -> None:
    with open_campaigns(settings) as (graph, jobs), hold_job_lock(settings.resolved_checkpoint_url(), JOB):
        jobs.create(JOB, state["goal"], state["params"])
        graph.update_state(thread_config(JOB), state, as_node="deliver")
        jobs.set_status(JOB, "paused")
    with open_suppressions(settings) as suppressions:
        suppressions.add(["eve@example.org"], reason="manual", source="test")


def _until_due(settings: Settings) -> None:
    """Sleep until the job's next follow-up step is due."""
    due = current_state(settings, JOB)[1]["reports"]["follow_ups"]["due_at"]
    time.sleep(max(0.0, due - time.time()) + 0.05)


def _checkpoints(settings: Settings) -> int:
    with open_campaigns(settings, create=False) as (graph, _):
        return len(list(graph.get_state_history(thread_config(JOB))))


def _eml(settings: Settings, name: str) -> Message:
    return email.message_from_bytes((settings.data_dir / "outbox" / JOB / f"{name}.eml").read_bytes())


def _text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_a_sequence_waits_goes_to_who_has_not_answered_and_threads_under_the_first(settings: Settings) -> None:
    _seed(settings, _delivered_state(2, "3s"))

    scheduled = resume_campaign(settings, JOB)
    assert scheduled.status == "waiting"
    assert scheduled.reason is not None and scheduled.reason.startswith("follow-up 1 of 2 due ")
    job, values = current_state(settings, JOB)
    assert job.status == "waiting" and job.error == scheduled.reason
    assert values["reports"]["follow_ups"]["step"] == 1

    before = _checkpoints(settings)
    early = resume_campaign(settings, JOB)  # before the due time: says so, writes nothing at all
    assert time.time() < values["reports"]["follow_ups"]["due_at"], "the machine was too slow to resume early"
    assert early.status == "waiting" and early.reason == scheduled.reason
    assert _checkpoints(settings) == before
    assert not list((settings.data_dir / "outbox").glob(f"{JOB}/*.eml"))

    _until_due(settings)
    first_step = resume_campaign(settings, JOB)
    assert first_step.status == "waiting" and first_step.reason is not None
    assert first_step.reason.startswith("follow-up 2 of 2 due ")
    follow_ups = first_step.state["follow_ups"]
    sent_to = sorted(d["login"] for d in follow_ups.values() if d.get("status") == "written")
    assert sent_to == ["ada", "dee"]  # an auto-reply does not stop a sequence
    stopped = {d["login"]: d["stop_reason"] for d in follow_ups.values() if d.get("status") == "stopped"}
    assert stopped == {"cy": "replied", "eve": "suppressed", "fay": "unsubscribed"}

    message = _eml(settings, "ada.follow-up-1")
    first_id = message_id_for(JOB, "ada", SENDER)
    assert message["In-Reply-To"] == first_id and message["References"] == first_id
    assert message["Subject"] == "Re: Your work on tensorforge"
    assert message["Message-ID"] == message_id_for(JOB, "ada", SENDER, 1) != first_id
    assert message["To"] == "ada@example.org"
    assert "tensorforge" in _text(message) and "unsubscribe" in _text(message)

    _until_due(settings)
    last = resume_campaign(settings, JOB)
    assert last.status == "done"
    assert sorted(k for k, d in last.state["follow_ups"].items() if d.get("status") == "written") == [
        "ada/1",
        "ada/2",
        "dee/1",
        "dee/2",
    ]
    assert "I will not write about this again" in _text(_eml(settings, "dee.follow-up-2")).replace("\n", " ")
    assert resume_campaign(settings, JOB).status == "done"  # a finished job sends nothing more

    steps = job_report(last.state, settings)["steps"]
    assert [(row["name"], row["delivered"]) for row in steps] == [
        ("first message", 5),
        ("follow-up 1", 2),
        ("follow-up 2", 2),
    ]
    assert steps[1]["stopped"] == {"replied": 1, "suppressed": 1, "unsubscribed": 1}
    assert steps[0]["replied"] == 1 and steps[0]["reply_rate"] == 0.2  # cy replied to the first message


def test_a_reply_that_arrives_between_steps_stops_the_next_one(settings: Settings) -> None:
    _seed(settings, _delivered_state(2, "1s"))
    resume_campaign(settings, JOB)
    time.sleep(1.1)
    assert resume_campaign(settings, JOB).status == "waiting"
    with open_campaigns(settings, create=False) as (graph, _), hold_job_lock(settings.resolved_checkpoint_url(), JOB):
        replied = Lead(outcome="replied", outcome_at="2026-11-28T10:00:00+00:00")
        graph.update_state(thread_config(JOB), RunState(leads={"ada": replied}))
    time.sleep(1.1)
    done = resume_campaign(settings, JOB)
    assert done.status == "done"
    assert done.state["follow_ups"]["ada/2"] == Draft(login="ada", step=2, status="stopped", stop_reason="replied")
    assert done.state["follow_ups"]["dee/2"]["status"] == "written"


def test_stop_reasons() -> None:
    state = _delivered_state(1, "1d")
    assert stop_reason(state, "ada", 1) is None
    assert stop_reason(state, "dee", 1) is None
    assert stop_reason(state, "cy", 1) == "replied"
    assert stop_reason(state, "ada", 2) == "previous message not delivered"
    state["to_send"]["ada"]["status"] = "bounced"
    assert stop_reason(state, "ada", 1) == "previous message not delivered"


def test_subjects_and_durations() -> None:
    assert follow_up_subject("Your work on x") == "Re: Your work on x"
    assert follow_up_subject("RE: Your work on x") == "Re: Your work on x"
    assert [duration_seconds(text) for text in ("3d", "12h", "90m", "20s")] == [259_200, 43_200, 5_400, 20]
    for bad in ("", "3", "0s", "3w", "-1d", "1.5h", "3d12h"):
        with pytest.raises(ValueError, match="expected a duration"):
            duration_seconds(bad)
    with pytest.raises(ConfigError, match="--follow-up-after"):
        validate_params({"follow_ups": 1, "follow_up_after": "soon"})
    with pytest.raises(ConfigError, match="--follow-ups"):
        validate_params({"follow_ups": 9})


def test_a_sequence_with_nobody_left_to_write_to_ends_without_waiting(settings: Settings) -> None:
    state = _delivered_state(2, "1d")
    for login in ("ada", "dee", "eve"):
        state["leads"][login]["outcome"] = "replied"
    _seed(settings, state)
    done = resume_campaign(settings, JOB)
    assert done.status == "done"
    assert done.state["reports"]["follow_ups"]["step"] == 3
    assert not done.state["follow_ups"]


def test_history_reads_no_state_and_agrees_with_a_replay_of_every_checkpoint(settings: Settings) -> None:
    _check_history(settings)


@pytest.mark.e2e
def test_history_on_postgres_agrees_with_a_replay_of_every_checkpoint(settings: Settings, postgres_url: str) -> None:
    _check_history(Settings(CMO_DATA_DIR=settings.data_dir, CMO_CHECKPOINT_URL=postgres_url))


def _check_history(settings: Settings) -> None:
    _seed(settings, _delivered_state(1, "1s"))
    resume_campaign(settings, JOB)
    with open_campaigns(settings, create=False) as (graph, _), hold_job_lock(settings.resolved_checkpoint_url(), JOB):
        outcome = Lead(outcome="auto_replied", outcome_at="2026-11-28T10:00:00+00:00")  # as a sync puts it in
        graph.update_state(thread_config(JOB), RunState(leads={"dee": outcome}))
    time.sleep(1.1)
    assert resume_campaign(settings, JOB).status == "done"

    rows = checkpoint_history(settings, JOB)
    with open_campaigns(settings, create=False) as (graph, _):
        snapshots = list(graph.get_state_history(thread_config(JOB)))
    assert [row["checkpoint_id"] for row in rows] == [s.config["configurable"]["checkpoint_id"] for s in snapshots]
    for index, (row, snap) in enumerate(zip(rows, snapshots, strict=True)):
        values = snap.values or {}
        expected = {key: len(values.get(key) or {}) for key in ("repos", "candidates", "leads", "to_send", "errors")}
        assert {k: v for k, v in row["counts"].items() if k != "follow_ups"} == expected, row
        assert row["counts"].get("follow_ups", 0) == len(values.get("follow_ups") or {})
        assert row["next"] == list(snap.next), row
        if (snap.metadata or {}).get("source") == "loop":
            assert [row["node"]] == list(snapshots[index + 1].next), row
        assert row["created_at"] == snap.created_at
    assert rows[0]["node"] == "report" and rows[-1]["node"] == "(update)"  # the job was seeded by update_state
    assert {row["node"] for row in checkpoint_history(settings, JOB, node="follow_up")} == {"follow_up"}
    assert all(row["duration_s"] is None or row["duration_s"] >= 0 for row in rows)
