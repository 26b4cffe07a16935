"""Delivery over SMTP to a real server on loopback: the approval gate, exactly-once across kill -9
at several points, suppression checked before each send, bounces, 4xx retries, a refused
connection, the bounce-rate and daily-cap pauses, and `pause` from another process."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.mail.message import recipient_of
from cmo_agent.runner import current_state
from tests.conftest import run_cli, start_cli, wait_until
from tests.loopback.smtp_server import SENDER, SmtpStandIn, delivery_env

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"


@pytest.fixture
def env(base_env: dict[str, str], github: GitHubStandIn, smtp: SmtpStandIn) -> dict[str, str]:
    return base_env | {"GITHUB_API_URL": github.url, **delivery_env(smtp), "CMO_SEND_RETRY_SECONDS": "0.2"}


def _settings(env: dict[str, str]) -> Settings:
    return Settings(CMO_DATA_DIR=env["CMO_DATA_DIR"])


def _state(env: dict[str, str], job: str) -> RunState:
    return current_state(_settings(env), job)[1]


def _gated(env: dict[str, str], tmp_path: Path, job: str, *extra: str) -> RunState:
    """Run up to the approval gate; returns the state there (drafts planned, nothing sent)."""
    done = run_cli(["run", GOAL, "--deliver", "smtp", "--job-id", job, "--max-repos", "2", *extra], env, tmp_path)
    assert done.returncode == 3, done.stderr
    assert "waiting for approval" in done.stdout and f"cmo-agent approve {job}" in done.stdout
    return _state(env, job)


def _ledger_sent(env: dict[str, str], job: str) -> int:
    """How many messages of `job` the ledger records as sent (written right after the server's 250)."""
    with open_ledger(_settings(env)) as ledger:
        return sum(1 for entry in ledger.entries(job) if entry.state == "sent")


def _received(smtp: SmtpStandIn) -> Counter[str]:
    return Counter(rcpt.lower() for message in smtp.messages for rcpt in message.rcpt_tos)


def _assert_exactly_once(env: dict[str, str], job: str, smtp: SmtpStandIn) -> RunState:
    """Every approved draft reached its person exactly once, or is listed unknown; nobody got two."""
    state = _state(env, job)
    received = _received(smtp)
    assert all(n == 1 for n in received.values()), f"someone got two messages: {received.most_common(3)}"
    with open_ledger(_settings(env)) as ledger:
        ledger_states = {e.login: e.state for e in ledger.entries(job)}
    for login, draft in state["to_send"].items():
        address = recipient_of(state["leads"][login]).lower()
        if draft["status"] == "rejected":
            assert address not in received
        elif draft["status"] in ("bounced", "suppressed"):
            assert ledger_states[login] == draft["status"] and address not in received
        elif draft["status"] == "unknown":
            assert ledger_states[login] == "unknown" and received[address] <= 1
        else:
            assert draft["status"] == "sent" == ledger_states[login], (login, draft["status"])
            assert received[address] == 1
    return state


def test_smtp_without_identity_stops_before_anything(
    env: dict[str, str], tmp_path: Path, github: GitHubStandIn, smtp: SmtpStandIn
) -> None:
    del env["CMO_POSTAL_ADDRESS"]
    refused = run_cli(["run", GOAL, "--deliver", "smtp"], env, tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: --deliver smtp needs CMO_POSTAL_ADDRESS (set in the environment or .env)"
    assert not github.requests and smtp.connections == 0 and not (tmp_path / "data").exists()
    demo = run_cli(["run", GOAL, "--demo", "--deliver", "smtp"], env, tmp_path)
    assert demo.returncode == 2 and "made up" in demo.stderr


def test_the_gate_waits_then_approve_sends_each_draft_once(
    env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn
) -> None:
    gated = _gated(env, tmp_path, "gate")
    assert smtp.connections == 0 and len(gated["to_send"]) >= 5
    rejected = sorted(gated["to_send"])[0]
    approved = run_cli(["approve", "gate", "--reject", rejected], env, tmp_path)
    assert approved.returncode == 0, approved.stderr
    state = _assert_exactly_once(env, "gate", smtp)
    assert state["to_send"][rejected]["status"] == "rejected"
    assert smtp.count() == len(gated["to_send"]) - 1
    for message in smtp.messages:
        parsed = message.message
        login = next(k for k, d in state["to_send"].items() if d["to"].lower() == message.rcpt_tos[0].lower())
        assert message.mail_from == SENDER and parsed["To"] == state["leads"][login]["address"]
        assert parsed["Message-ID"] == state["to_send"][login]["message_id"]
        assert parsed["From"] == f"Dana Reyes <{SENDER}>" and parsed["Cc"] is None and parsed["Bcc"] is None
        assert parsed["List-Unsubscribe"] == f"<mailto:{SENDER}?subject=unsubscribe>"
        body = parsed.get_content()
        assert "500 Demo Street" in body and "Why you:" in body and "Where we found your address:" in body
    again = run_cli(["approve", "gate"], env, tmp_path)
    assert again.returncode == 2 and "not waiting for approval" in again.stderr


def test_bounces_are_suppressed_and_4xx_is_retried(env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn) -> None:
    gated = _gated(env, tmp_path, "replies")
    logins = sorted(gated["to_send"])
    bouncing, busy = (recipient_of(gated["leads"][login]).lower() for login in logins[:2])
    smtp.rcpt_replies[bouncing] = [(550, "5.1.1 no such user")]
    smtp.rcpt_replies[busy] = [(451, "4.7.1 try again later"), (451, "4.7.1 try again later")]
    assert run_cli(["approve", "replies"], env, tmp_path).returncode == 0
    state = _state(env, "replies")
    assert state["to_send"][logins[0]]["status"] == "bounced" and bouncing not in _received(smtp)
    assert state["to_send"][logins[1]]["status"] == "sent" and _received(smtp)[busy] == 1
    assert [code for rcpt, code in smtp.attempts if rcpt.lower() == busy] == [451, 451, 250]
    listed = json.loads(run_cli(["suppress", "list", "--json"], env, tmp_path).stdout)
    account = gated["leads"][logins[0]].get("profile", {}).get("id")  # the person too, not only the address
    person = [bouncing, f"github:{logins[0].lower()}", *([f"github-id:{account}"] if account else [])]
    assert sorted((e["entry"], e["reason"]) for e in listed) == sorted((e, "hard bounce 550") for e in person)
    assert state["counters"]["smtp_deferred"] == 2 and state["counters"]["smtp_bounced"] == 1


def test_a_suppression_added_mid_run_is_honoured(env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn) -> None:
    gated = _gated(env, tmp_path, "midrun")
    last = sorted(gated["to_send"])[-1]
    address = recipient_of(gated["leads"][last])
    smtp.latency = 0.3
    proc = start_cli(["approve", "midrun"], env, tmp_path)
    wait_until(lambda: smtp.count() >= 1, proc=proc, what="a first message")
    assert run_cli(["suppress", "add", address], env, tmp_path).returncode == 0
    smtp.latency = 0.0
    assert proc.wait(timeout=120) == 0
    state = _state(env, "midrun")
    assert state["to_send"][last]["status"] == "suppressed" and address.lower() not in _received(smtp)


@pytest.mark.parametrize("point", ["in_data", "between_messages", "after_accept"])
def test_kill_9_during_delivery_never_sends_twice(
    env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn, point: str
) -> None:
    gated = _gated(env, tmp_path, "crash")
    eligible = len(gated["to_send"])
    if point == "in_data":
        smtp.latency = 3.0  # the client is killed while waiting for DATA's answer
        proc = start_cli(["approve", "crash"], env, tmp_path)
        wait_until(lambda: smtp.data_received >= 1, proc=proc, what="a message's content reaching the server")
    elif point == "between_messages":
        slow = env | {"CMO_SEND_RATE_PER_MIN": "60"}  # one a second: killed while pacing
        proc = start_cli(["approve", "crash"], slow, tmp_path)
        # The second message is recorded as sent: the client now waits a second for the third one's turn.
        wait_until(lambda: _ledger_sent(env, "crash") >= 2, proc=proc, what="two messages in the ledger")
    else:
        proc = start_cli(["approve", "crash"], env, tmp_path)
        # killed right after a 250, wherever the client is
        wait_until(lambda: smtp.count() >= 3, proc=proc, what="three messages")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    smtp.latency = 0.0
    resumed = run_cli(["resume", "crash"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    state = _assert_exactly_once(env, "crash", smtp)
    statuses = Counter(d["status"] for d in state["to_send"].values())
    assert statuses["sent"] + statuses["unknown"] == eligible
    if point == "in_data":
        assert statuses["unknown"] == 1, "the message caught in DATA is not sent again"
        assert "1 unknown" in resumed.stdout
        (login,) = [login for login, d in state["to_send"].items() if d["status"] == "unknown"]
        address = recipient_of(state["leads"][login]).lower()
        before = _received(smtp)[address]
        again = run_cli(["resume", "crash", "--resend-unknown"], env, tmp_path)
        assert again.returncode == 0, again.stderr
        assert _state(env, "crash")["to_send"][login]["status"] == "sent"
        assert _received(smtp)[address] == before + 1, "sent again only because the operator said so"


def test_a_refused_connection_pauses_and_resume_finishes(
    env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn
) -> None:
    _gated(env, tmp_path, "down")
    smtp.refuse()
    paused = run_cli(["approve", "down"], env, tmp_path)
    assert paused.returncode == 3 and "SMTP unavailable" in paused.stdout
    status = json.loads(run_cli(["status", "down", "--json"], env, tmp_path).stdout)
    assert status["status"] == "paused" and "SMTP unavailable" in status["error"]
    smtp.accept()
    assert run_cli(["resume", "down"], env, tmp_path).returncode == 0
    _assert_exactly_once(env, "down", smtp)


def test_too_many_hard_bounces_pause_the_campaign(env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn) -> None:
    gated = _gated(env, tmp_path, "bouncy", "--max-repos", "10")
    in_order = [recipient_of(gated["leads"][login]).lower() for login in sorted(gated["to_send"])]
    assert len(in_order) >= 60
    for address in in_order[:3]:
        smtp.rcpt_replies[address] = [(550, "5.1.1 unknown user")]
    paused = run_cli(["approve", "bouncy"], env, tmp_path)
    assert paused.returncode == 3 and "hard-bounce rate" in paused.stdout
    assert smtp.count() + 3 == 50, "it stopped as soon as 50 messages had gone out"
    assert run_cli(["resume", "bouncy"], env, tmp_path).returncode == 0, "a resume is a person's decision to go on"
    _assert_exactly_once(env, "bouncy", smtp)


def test_the_daily_cap_holds_across_jobs(env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn) -> None:
    env = env | {"CMO_DAILY_CAP": "4"}
    first = run_cli(
        ["run", GOAL, "--deliver", "smtp", "--yes", "--job-id", "capped", "--max-repos", "2"], env, tmp_path
    )
    assert first.returncode == 3 and "daily cap of 4" in first.stdout
    assert smtp.count() == 4
    second = run_cli(["run", GOAL, "--deliver", "smtp", "--yes", "--job-id", "next", "--max-repos", "1"], env, tmp_path)
    assert second.returncode == 3 and "daily cap of 4" in second.stdout and smtp.count() == 4


def test_pause_from_another_process_drains_and_resume_finishes(
    env: dict[str, str], tmp_path: Path, smtp: SmtpStandIn
) -> None:
    _gated(env, tmp_path, "paused")
    smtp.latency = 0.3
    proc = start_cli(["approve", "paused"], env, tmp_path)
    wait_until(lambda: smtp.count() >= 2, proc=proc, what="two messages")
    asked = run_cli(["pause", "paused"], env, tmp_path)
    assert asked.returncode == 0 and "pause requested" in asked.stdout
    assert proc.wait(timeout=60) == 3
    assert "pause requested" in (proc.stdout.read() if proc.stdout else "")
    sent_before = smtp.count()
    smtp.latency = 0.0
    assert run_cli(["resume", "paused"], env, tmp_path).returncode == 0
    state = _assert_exactly_once(env, "paused", smtp)
    assert smtp.count() > sent_before and all(d["status"] == "sent" for d in state["to_send"].values())
