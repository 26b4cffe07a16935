"""`cmo-agent sync` against Dovecot on loopback, after a real SMTP campaign: every kind of incoming
mail reaches its lead through the graph, addresses are suppressed, nothing in the mailbox changes,
and a second sync changes nothing."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from cmo_agent.core.checkpointer import thread_config
from cmo_agent.core.job_lock import hold_job_lock
from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.suppression import open_suppressions
from cmo_agent.runner import current_state, open_campaigns
from tests.conftest import run_cli, start_cli, wait_until
from tests.loopback.imap_server import DovecotStandIn
from tests.sync import messages as m
from tests.sync.conftest import settings_for

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"
JOB = "imap-sync"


def _sent_campaign(env: dict[str, str], tmp_path: Path) -> list[tuple[str, str, str, str]]:
    """Run and approve an SMTP campaign; (login, Message-ID, address, subject) of what was sent."""
    gated = run_cli(["run", GOAL, "--deliver", "smtp", "--job-id", JOB, "--max-repos", "3"], env, tmp_path)
    assert gated.returncode == 3, gated.stderr
    approved = run_cli(["approve", JOB], env, tmp_path)
    assert approved.returncode == 0, approved.stderr
    settings = settings_for(env)
    _, state = current_state(settings, JOB)
    with open_ledger(settings) as ledger:
        entries = [e for e in ledger.entries(JOB) if e.state == "sent"]
    return [(e.login, e.message_id, e.address, state["to_send"][e.login]["subject"]) for e in entries]


def test_sync_puts_every_kind_of_mail_into_its_job(
    env: dict[str, str], tmp_path: Path, dovecot: DovecotStandIn
) -> None:
    sent = _sent_campaign(env, tmp_path)
    assert len(sent) >= 6, "the demo campaign sends enough messages for every kind"
    (a, a_id, a_to, a_subject), (b, _, b_to, b_subject), (c, c_id, c_to, c_subject) = sent[:3]
    (d, d_id, d_to, _), (e, e_id, e_to, _), (f, _, f_to, _) = sent[3:6]
    for raw in (
        m.reply(a_id, a_to, a_subject),
        m.reply_without_references(b_to, b_subject),
        m.auto_reply(c_id, c_to, c_subject),
        m.hard_bounce(d_to, d_id),
        m.soft_bounce(e_to, e_id),
        m.unsubscribe_by_mailto(f_to),
        m.unrelated(),
        m.GARBAGE + b"\r\n\r\nbody",
    ):
        dovecot.deliver(raw)

    done = run_cli(["sync", JOB, "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["new_messages"] == 8
    assert result["kinds"] == {
        "reply": 2,
        "auto_reply": 1,
        "hard_bounce": 1,
        "soft_bounce": 1,
        "unsubscribe": 1,
        "unrelated": 1,
        "unparsed": 1,
    }
    assert result["unparsed"] and result["unparsed"][0].endswith("no From header")
    assert result["applied"] == {JOB: 6} and result["suppressed"] == 2

    settings = settings_for(env)
    _, state = current_state(settings, JOB)
    leads = state["leads"]
    assert leads[a]["outcome"] == "replied" and leads[a]["outcome_detail"] == "Happy to talk, how about Tuesday?"
    assert leads[b]["outcome"] == "replied"
    assert leads[c]["outcome"] == "auto_replied"
    assert leads[d]["outcome"] == "bounced" and leads[d]["outcome_detail"] == "5.1.1 failed"
    assert "outcome" not in leads[e] and leads[e]["soft_bounce"].startswith("4.2.2 delayed")
    assert leads[f]["outcome"] == "unsubscribed"
    outcomes = state["reports"]["outcomes"]
    assert outcomes["replied"] == 2 and outcomes["auto_replied"] == 1 and outcomes["bounced"] == 1
    assert outcomes["unsubscribed"] == 1 and outcomes["soft_bounced"] == 1 and outcomes["sent"] == len(sent)
    with open_suppressions(settings) as suppressions:
        listed = suppressions.suppressed([d_to, e_to, f_to, a_to])
    assert set(listed) == {d_to, f_to}, "hard bounces and unsubscribes only"
    assert all("S" not in flags for flags in dovecot.flags()), "nothing was marked read"

    # The outcomes went in through the graph: a checkpoint of their own, exported like any other.
    with open_campaigns(settings, create=False) as (graph, _):
        checkpoints = len(list(graph.get_state_history(thread_config(JOB))))
    again = run_cli(["sync", "--json"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["new_messages"] == 0 and json.loads(again.stdout)["applied"] == {}
    with open_campaigns(settings, create=False) as (graph, _):
        assert len(list(graph.get_state_history(thread_config(JOB)))) == checkpoints, "a second sync changes nothing"
    exported = run_cli(["export", JOB, "--out", "-"], env, tmp_path)
    assert json.loads(exported.stdout)["reports"]["outcomes"] == outcomes
    report = json.loads(run_cli(["report", JOB, "--json"], env, tmp_path).stdout)
    assert report["outcomes"] == outcomes and report["funnel"]["replied"] == 2
    assert {item["login"] for item in report["replies"]} == {a, b}


def test_a_wrong_password_or_no_server_is_one_line_and_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli(["suppress", "add", "someone@example.org"], env, tmp_path).returncode == 0  # a database
    for broken, says in (
        ({"IMAP_PASSWORD": "not-the-password"}, "refused the login"),
        ({"IMAP_PORT": "1"}, "cannot reach the IMAP server 127.0.0.1:1"),
        ({"IMAP_FOLDER": "No-Such-Folder"}, "cannot open the IMAP folder 'No-Such-Folder'"),
    ):
        done = run_cli(["sync"], env | broken, tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
        assert "not-the-password" not in done.stderr
    unknown = run_cli(["sync", "no-such-job"], env, tmp_path)
    assert unknown.returncode == 2 and "no job 'no-such-job'" in unknown.stderr


def _events(env: dict[str, str]) -> int:
    """How many outcomes sync has stored so far (0 before its table exists)."""
    try:
        with sqlite3.connect(Path(env["CMO_DATA_DIR"]) / "cmo_agent.db", timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM cmo_sync_events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.parametrize("env", ["sqlite"], indirect=True)
def test_a_sync_killed_mid_way_loses_and_repeats_nothing(
    env: dict[str, str], tmp_path: Path, dovecot: DovecotStandIn
) -> None:
    sent = _sent_campaign(env, tmp_path)
    for index, (_, message_id, address, subject) in enumerate(sent):
        dovecot.deliver(m.reply(message_id, address, subject))
        for n in range(400 if index == 0 else 40):  # the first reply is read early, the rest among many
            dovecot.deliver(m._mail(f"Newsletter {index}-{n}", "News.", sender=f"news{n}@example.net"))
    proc = start_cli(["sync", "--json"], env, tmp_path)
    wait_until(lambda: _events(env) >= 1, proc=proc, what="a first outcome stored")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "the sync was killed mid-way, not after it ended"
    stored_before = _events(env)
    assert 1 <= stored_before < len(sent), "killed while it was storing outcomes"

    done = run_cli(["sync", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["kinds"]["reply"] == len(sent), "the killed sync's messages are read again"
    assert result["applied"] == {JOB: len(sent)} and _events(env) == len(sent), "each message stored once"
    _, state = current_state(settings_for(env), JOB)
    assert all(state["leads"][login]["outcome"] == "replied" for login, *_ in sent)
    assert state["reports"]["outcomes"]["replied"] == len(sent)
    again = json.loads(run_cli(["sync", "--json"], env, tmp_path).stdout)
    assert again["new_messages"] == 0 and again["applied"] == {}


@pytest.mark.parametrize("env", ["sqlite"], indirect=True)
def test_a_running_job_gets_its_outcomes_at_the_next_sync(
    env: dict[str, str], tmp_path: Path, dovecot: DovecotStandIn
) -> None:
    sent = _sent_campaign(env, tmp_path)
    login, message_id, address, subject = sent[0]
    dovecot.deliver(m.reply(message_id, address, subject))
    settings = settings_for(env)
    with hold_job_lock(settings.resolved_checkpoint_url(), JOB):  # as a run of the job would
        busy = json.loads(run_cli(["sync", "--json"], env, tmp_path).stdout)
    assert busy["applied"] == {} and JOB in busy["skipped"]
    assert "outcome" not in current_state(settings, JOB)[1]["leads"][login]
    later = json.loads(run_cli(["sync", "--json"], env, tmp_path).stdout)
    assert later["new_messages"] == 0 and later["applied"] == {JOB: 1}, "kept, not read again"
    assert current_state(settings, JOB)[1]["leads"][login]["outcome"] == "replied"
