"""`cmo-agent prune` of a whole demo campaign (with a follow-up step), on SQLite and on PostgreSQL: the
job shrinks to one self-contained checkpoint, and `export` (the final state, byte for byte), `report`,
`status`, `history` and `resume` answer as before; a job still waiting for its follow-up is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cmo_agent.cli import app
from cmo_agent.core.checkpointer import thread_id_for
from cmo_agent.graph import STAGES
from tests.cli_calls import cli, cli_json

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"
JOB = "demo-prune"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The checkpoint database's URL, the CLI's environment pointing at it (small batches: many checkpoints)."""
    for name in ("CMO_CHECKPOINT_URL", "GITHUB_TOKEN", "OPENAI_API_KEY", "SMTP_HOST", "CMO_PITCH", "IMAP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CMO_BATCH_SIZE", "10")
    monkeypatch.chdir(tmp_path)
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("CMO_CHECKPOINT_URL", url)
        return url
    return f"sqlite:///{tmp_path / 'data' / 'cmo_agent.db'}"


def _finished_with_a_follow_up() -> None:
    """The demo campaign with one follow-up a second later; `prune` is refused while it waits."""
    cli("run", GOAL, "--demo", "--job-id", JOB, "--follow-ups", "1", "--follow-up-after", "1s", code=3)
    refused = cli("prune", JOB, code=2)
    assert refused.stderr == f"error: job {JOB!r} is waiting: only a done job can be pruned\n"
    for _ in range(40):
        time.sleep(0.25)
        resumed = CliRunner().invoke(app, ["resume", JOB], catch_exceptions=False)
        if resumed.exit_code == 0:
            return
        assert resumed.exit_code == 3, resumed.stderr
    raise AssertionError("the follow-up step never came due")


def _rows_of_thread(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"select count(*) from {table} where thread_id = %s", [thread_id_for(JOB)]).fetchone()[
                0
            ]  # type: ignore[index]
            for table in ("checkpoints", "checkpoint_writes", "checkpoint_blobs")
        }


def test_prune_a_finished_campaign_keeps_export_report_status_and_history(database: str) -> None:
    _finished_with_a_follow_up()
    exported = cli("export", JOB, "--out", "-").stdout
    report = cli("report", JOB, "--json").stdout
    status = cli_json("status", JOB, "--json")
    history = cli_json("history", JOB, "--json")
    assert set(STAGES) <= {row["node"] for row in history} and len(history) > 30
    assert json.loads(exported)["follow_ups"], "the follow-up step wrote its drafts"

    pruned = cli_json("prune", JOB, "--json")

    assert pruned["pruned"] is True and pruned["checkpoints"] == {"before": len(history), "after": 1}
    assert pruned["freed_bytes"] > 0 and pruned["rows"]["after"] < pruned["rows"]["before"]
    assert pruned["database"] == ("postgresql" if database.startswith("postgresql") else "sqlite")
    assert pruned["vacuumed"] is True
    if pruned["database"] == "sqlite":
        assert pruned["database_bytes"]["after"] < pruned["database_bytes"]["before"]
    else:  # one checkpoint, its blobs, no writes
        rows = _rows_of_thread(database)
        assert rows["checkpoints"] == 1 and rows["checkpoint_writes"] == 0 and rows["checkpoint_blobs"] > 0
    assert cli("export", JOB, "--out", "-").stdout == exported
    assert cli("report", JOB, "--json").stdout == report
    assert cli_json("status", JOB, "--json") == status
    after = cli_json("history", JOB, "--json")
    assert [row.get("pruned", False) for row in after] == [False] + [True] * (len(history) - 1)
    assert [{key: value for key, value in row.items() if key != "pruned"} for row in after] == history
    assert cli_json("history", JOB, "--json", "--node", "enrich") == [row for row in after if row["node"] == "enrich"]
    kept = after[0]["checkpoint_id"]
    assert cli("export", JOB, "--checkpoint", kept, "--out", "-").stdout == exported
    assert cli_json("resume", JOB, "--json")["status"] == "done"

    again = cli_json("prune", JOB, "--json")
    assert again["pruned"] is False and again["freed_bytes"] == 0
    assert again["bytes"] == {"before": pruned["bytes"]["after"], "after": pruned["bytes"]["after"]}
    assert cli("export", JOB, "--out", "-").stdout == exported
