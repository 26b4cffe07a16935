"""The relay dropping the connection at each step of an SMTP transaction: nobody gets a message
twice, a message whose fate is unknown is reported `unknown`, every other one is sent, and resume finishes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cmo_agent.core.ledger import open_ledger
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.runner import current_state, resume_campaign
from tests.conftest import run_cli
from tests.faults.conftest import GOAL, WORLD_ARGS, assert_no_traceback, settings_from, world_env
from tests.loopback.smtp_server import HangUpStep, SmtpStandIn, delivery_env

pytestmark = pytest.mark.e2e

DRAFTS = 5


@pytest.fixture
def env(base_env: dict[str, str], github: GitHubStandIn, smtp: SmtpStandIn) -> dict[str, str]:
    return world_env(base_env, github, **delivery_env(smtp))


# (where the relay hangs up, how many times, after how many passes, exit codes of the first run, unknowns)
DROPS: list[tuple[HangUpStep, int, int, tuple[int, ...], int]] = [
    ("connect", 1, 0, (3,), 0),
    ("ehlo", 1, 0, (3,), 0),
    ("mail", 1, 2, (3,), 0),  # on the third message, over a connection that had worked
    ("rcpt", 1, 0, (3,), 0),
    ("message", 2, 0, (0,), 2),  # the relay took both messages, but its 250 never arrived
    ("after_message", 2, 0, (0,), 0),
]
NOT_SENT_BEFORE_354 = pytest.param(
    "data",
    1,
    0,
    (0, 3),
    0,
    id="data",
)


@pytest.mark.parametrize(
    ("step", "times", "skip", "first_exits", "unknown"),
    [pytest.param(*drop, id=drop[0] if drop[2] == 0 else f"{drop[0]}-mid-session") for drop in DROPS]
    + [NOT_SENT_BEFORE_354],
)
def test_a_connection_dropped_mid_transaction_never_sends_twice_and_resume_finishes(
    tmp_path: Path,
    env: dict[str, str],
    smtp: SmtpStandIn,
    step: HangUpStep,
    times: int,
    skip: int,
    first_exits: tuple[int, ...],
    unknown: int,
) -> None:
    smtp.hang_up_at(step, times=times, skip=skip)
    args = ["run", GOAL, "--job-id", "drop", *WORLD_ARGS, "--max-leads", str(DRAFTS), "--deliver", "smtp", "--yes"]
    first = run_cli(args, env, tmp_path)
    assert_no_traceback(first)
    assert smtp.hung_up == [step] * times, "the relay hung up as planned"
    assert first.returncode in first_exits, first.stdout
    settings = settings_from(env)
    if first.returncode == 3:
        assert "SMTP unavailable" in first.stdout and "cmo-agent resume drop" in first.stdout
        assert current_state(settings, "drop")[0].status == "paused"
    if unknown:
        assert f"{unknown} unknown" in first.stdout, "the run says which messages may have gone"

    resumed = resume_campaign(settings, "drop")
    assert resumed.status == "done", resumed.error
    drafts = resumed.state["to_send"]
    statuses = {login: draft["status"] for login, draft in drafts.items()}
    with open_ledger(settings) as ledger:
        assert {entry.login: entry.state for entry in ledger.entries("drop")} == statuses
    assert len(statuses) == DRAFTS and Counter(statuses.values()) == Counter(
        {"sent": DRAFTS - unknown, "unknown": unknown} if unknown else {"sent": DRAFTS}
    )
    received = Counter(rcpt.lower() for message in smtp.messages for rcpt in message.rcpt_tos)
    assert all(n == 1 for n in received.values()), f"someone got two messages: {received.most_common(2)}"
    for login, status in statuses.items():
        address = str(resumed.state["leads"][login]["address"]).lower()
        assert received[address] == 1 if status == "sent" else received[address] <= 1, login
