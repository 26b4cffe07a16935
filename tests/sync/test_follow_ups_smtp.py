"""Follow-ups over SMTP, end to end on loopback servers (GitHub stand-in, aiosmtpd, Dovecot): the job
waits between steps, `resume` before the due time sends nothing, `resume` after it reads the mailbox
first (a reply, a hard bounce and an unsubscribe stop a lead's sequence, an auto-reply does not), and
each follow-up is a reply in its lead's thread; a kill -9 in the middle of the follow-up step never
sends a (lead, step) twice."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.state import RunState
from cmo_agent.mail.message import message_id_for
from cmo_agent.runner import current_state
from tests.conftest import run_cli, start_cli, wait_until
from tests.loopback.imap_server import DovecotStandIn
from tests.loopback.smtp_server import SENDER, Received, SmtpStandIn
from tests.sync import messages as m
from tests.sync.conftest import settings_for

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"
JOB = "follow-ups"


@dataclass(frozen=True)
class First:
    """A lead's first message, as the ledger and the RunState recorded it."""

    login: str
    message_id: str
    address: str
    subject: str


def _state(env: dict[str, str]) -> RunState:
    return current_state(settings_for(env), JOB)[1]


def _status(env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    done = run_cli(["status", JOB, "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _ledger(env: dict[str, str], step: int) -> dict[str, str]:
    """The ledger's state of each lead's message of `step`."""
    with open_ledger(settings_for(env)) as ledger:
        return {e.login: e.state for e in ledger.entries(JOB) if e.step == step}


def _waiting_campaign(env: dict[str, str], tmp_path: Path, after: str) -> tuple[list[First], float]:
    """Run a campaign with one follow-up through its first messages; the leads who were sent one, and
    when follow-up 1 is due (the job waits for it)."""
    args = ["run", GOAL, "--deliver", "smtp", "--yes", "--follow-ups", "1", "--follow-up-after", after]
    done = run_cli([*args, "--job-id", JOB, "--max-repos", "3"], env, tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "waiting: follow-up 1 of 1 due" in done.stdout, done.stdout
    status = _status(env, tmp_path)
    assert status["status"] == "waiting" and status["due_at"], status
    state = _state(env)
    due = float(state["reports"]["follow_ups"]["due_at"])
    assert abs(datetime.fromisoformat(status["due_at"]).timestamp() - due) < 1.5, (status["due_at"], due)
    with open_ledger(settings_for(env)) as ledger:
        entries = [e for e in ledger.entries(JOB) if e.state == "sent"]
    assert entries and all(e.step == 0 for e in entries), "only first messages so far"
    first = [First(e.login, e.message_id, e.address, state["to_send"][e.login]["subject"]) for e in entries]
    return first, due


def _header(message: Received, name: str) -> str:
    return str(message.message.get(name, ""))


def _assert_no_message_twice(smtp: SmtpStandIn) -> None:
    ids = Counter(_header(message, "Message-ID") for message in smtp.messages)
    assert all(ids) and all(n == 1 for n in ids.values()), f"a message went twice: {ids.most_common(3)}"


def _follow_ups(smtp: SmtpStandIn) -> list[Received]:
    """What the SMTP server received that is a reply in a thread of ours (a follow-up)."""
    return [message for message in smtp.messages if _header(message, "In-Reply-To")]


def test_follow_up_goes_after_a_sync_to_who_did_not_answer_in_the_first_thread(
    env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn, dovecot: DovecotStandIn
) -> None:
    first, due = _waiting_campaign(env, tmp_path, "20s")  # room for a loaded machine before the early resume
    assert len(first) >= 5, "the campaign sends enough first messages for every kind of answer"
    assert smtp.count() == len(first) and not _follow_ups(smtp)
    replied, auto_replied, bounced, unsubscribed = first[:4]
    for raw in (
        m.reply(replied.message_id, replied.address, replied.subject),
        m.auto_reply(auto_replied.message_id, auto_replied.address, auto_replied.subject),
        m.hard_bounce(bounced.address, bounced.message_id),
        m.unsubscribe_by_mailto(unsubscribed.address),
    ):
        dovecot.deliver(raw)

    early = run_cli(["resume", JOB], env, tmp_path)
    assert time.time() < due, "the first resume was meant to come before the due time: raise --follow-up-after"
    assert early.returncode == 3, early.stdout + early.stderr
    assert "follow-up 1 of 1 due" in early.stdout, early.stdout
    assert smtp.count() == len(first), "nothing is sent before the due time"
    assert _status(env, tmp_path)["status"] == "waiting"

    wait_until(lambda: time.time() > due + 0.5, timeout=30, what="the follow-up's due time")
    done = run_cli(["resume", JOB], env, tmp_path)  # no `sync` before it: the resume reads the mailbox itself
    assert done.returncode == 0, done.stdout + done.stderr
    assert _status(env, tmp_path)["status"] == "done"

    stopped = {replied.login: "replied", bounced.login: "bounced", unsubscribed.login: "unsubscribed"}
    expected = {lead.address.lower(): lead for lead in first if lead.login not in stopped}
    follow_ups = _follow_ups(smtp)
    received = Counter(rcpt.lower() for message in follow_ups for rcpt in message.rcpt_tos)
    assert received == Counter(list(expected)), "one follow-up to each delivered lead but the stopped ones"
    assert auto_replied.address.lower() in received, "an auto-reply does not stop a sequence"
    for message in follow_ups:
        lead = expected[message.rcpt_tos[0].lower()]
        assert _header(message, "In-Reply-To") == lead.message_id, lead.login
        assert _header(message, "References") == lead.message_id, lead.login
        assert _header(message, "Subject") == f"Re: {lead.subject}", lead.login
        assert _header(message, "Message-ID") == message_id_for(JOB, lead.login, SENDER, 1) != lead.message_id
    _assert_no_message_twice(smtp)
    assert smtp.count() == len(first) + len(expected), "no first message went again"

    state = _state(env)
    for login, reason in stopped.items():
        record = state["follow_ups"][f"{login}/1"]
        assert record["status"] == "stopped" and record["stop_reason"] == reason, (login, record)
    assert state["leads"][auto_replied.login]["outcome"] == "auto_replied"
    assert {lead.login for lead in expected.values()} == {
        d["login"] for d in state["follow_ups"].values() if d["status"] == "sent"
    }
    assert _ledger(env, 1) == {lead.login: "sent" for lead in expected.values()}, "nothing planned for the stopped"

    report = run_cli(["report", JOB, "--json"], env, tmp_path)
    assert report.returncode == 0, report.stderr
    steps = json.loads(report.stdout)["steps"]
    assert [step["name"] for step in steps] == ["first message", "follow-up 1"]
    assert steps[0]["delivered"] == len(first) and steps[0]["replied"] == 1
    assert steps[1]["delivered"] == len(expected)
    assert steps[1]["stopped"] == {"replied": 1, "bounced": 1, "unsubscribed": 1}


def _killed_in_the_follow_up_step(
    env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn, first: list[First], point: str
) -> None:
    """Resume the due job and kill -9 it in the middle of follow-up 1's delivery: `in_data`, while the
    client waits for the answer to a follow-up's DATA; `after_accept`, right after a follow-up's 250."""
    if point == "in_data":
        smtp.latency = 3.0
        proc = start_cli(["resume", JOB], env, tmp_path)
        wait_until(lambda: smtp.data_received > len(first), proc=proc, what="a follow-up reaching the server")
    else:
        proc = start_cli(["resume", JOB], env, tmp_path)
        wait_until(lambda: smtp.count() >= len(first) + 2, proc=proc, what="two follow-ups accepted")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "killed mid-step, not after the resume ended"
    smtp.latency = 0.0
    assert _status(env, tmp_path)["status"] == "interrupted"


def _received(smtp: SmtpStandIn) -> Counter[str]:
    """Follow-ups received, by recipient."""
    return Counter(rcpt.lower() for message in _follow_ups(smtp) for rcpt in message.rcpt_tos)


@pytest.mark.parametrize(
    ("env", "point"),
    [("sqlite", "in_data"), ("postgres", "after_accept")],  # each kill point on one database keeps the suite short
    indirect=["env"],
)
def test_kill_9_during_the_follow_up_step_never_sends_a_follow_up_twice(
    env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn, point: str
) -> None:
    first, due = _waiting_campaign(env, tmp_path, "2s")
    wait_until(lambda: time.time() > due + 0.5, timeout=30, what="the follow-up's due time")
    _killed_in_the_follow_up_step(env, tmp_path, smtp, first, point)

    resumed = run_cli(["resume", JOB], env, tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _status(env, tmp_path)["status"] == "done"
    _assert_no_message_twice(smtp)
    received = _received(smtp)
    assert all(n == 1 for n in received.values()), f"a lead got follow-up 1 twice: {received.most_common(3)}"
    assert smtp.count() == len(first) + sum(received.values()), "no first message went again"
    drafts = {d["login"]: d for d in _state(env)["follow_ups"].values() if d.get("step") == 1}
    assert set(drafts) == {lead.login for lead in first}, "every first recipient was considered"
    ledger = _ledger(env, 1)
    for lead in first:
        status = drafts[lead.login]["status"]
        assert status in ("sent", "unknown") and ledger[lead.login] == status, (lead.login, status, ledger[lead.login])
        if status == "sent":
            assert received[lead.address.lower()] == 1, lead.login
        else:  # caught mid-transaction: it may have gone out, and it is not sent again
            assert received[lead.address.lower()] <= 1, lead.login
    unknown = [login for login, draft in drafts.items() if draft["status"] == "unknown"]
    if point == "in_data":
        assert len(unknown) == 1, "the follow-up caught waiting for DATA's answer is unknown"
        assert received[drafts[unknown[0]]["to"].lower()] == 0, "the server dropped it with the connection"
        assert "follow-ups: " in resumed.stdout and "1 unknown" in resumed.stdout, "an unknown follow-up is reported"
        assert _status(env, tmp_path)["follow_ups"]["unknown"] == 1

    before = smtp.count()
    again = run_cli(["resume", JOB], env, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert smtp.count() == before, "a finished job sends nothing more, unknown follow-ups included"


@pytest.mark.parametrize("env", ["sqlite"], indirect=True)
def test_resend_unknown_sends_a_follow_up_caught_mid_transaction_once_more(
    env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn
) -> None:
    """README: a message caught mid-transaction "is not resent unless you say `resume --resend-unknown`";
    a follow-up is delivered "the same delivery path as the first email"."""
    first, due = _waiting_campaign(env, tmp_path, "2s")
    wait_until(lambda: time.time() > due + 0.5, timeout=30, what="the follow-up's due time")
    _killed_in_the_follow_up_step(env, tmp_path, smtp, first, "in_data")
    assert run_cli(["resume", JOB], env, tmp_path).returncode == 0
    drafts = {d["login"]: d for d in _state(env)["follow_ups"].values() if d.get("step") == 1}
    (login,) = [login for login, draft in drafts.items() if draft["status"] == "unknown"]
    address = drafts[login]["to"].lower()
    assert _received(smtp)[address] == 0

    resent = run_cli(["resume", JOB, "--resend-unknown"], env, tmp_path)
    assert resent.returncode == 0, resent.stdout + resent.stderr
    assert _received(smtp)[address] == 1, "sent again because the operator said so"
    assert _state(env)["follow_ups"][f"{login}/1"]["status"] == "sent"
    assert _ledger(env, 1)[login] == "sent"
    _assert_no_message_twice(smtp)
    assert _received(smtp) == Counter(lead.address.lower() for lead in first), "every lead got follow-up 1 once"
