"""`replay`: a job forked at a checkpoint runs on as a new job without asking GitHub again for what the
checkpoint holds, and leaves the original's history exactly as it was; `export --checkpoint` shows the
state there. One outbox campaign against the GitHub stand-in is shared by the module; each test forks
it under ids of its own. The CLI runs in-process (CliRunner)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.demo.github_server import GitHubStandIn
from tests.cli_calls import cli, cli_json

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"
ORIGINAL = "orig"
COUNTED = ("repos", "candidates", "leads", "to_send", "errors")
NO_CHECKPOINT = f"error: job '{ORIGINAL}' has no checkpoint 'nope' (`cmo-agent history {ORIGINAL}` lists them)\n"
_UNSET = ("CMO_CHECKPOINT_URL", "GITHUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "SMTP_HOST", "CMO_PITCH")


@dataclass(frozen=True)
class Campaign:
    """The finished original job, as it stood before any test forked it."""

    data: Path
    github: GitHubStandIn
    requests: int
    """What the original's run asked the stand-in (the cross-job cache is off, so each lookup is one)."""
    history: list[dict[str, Any]]
    state: dict[str, Any]
    outbox: dict[str, bytes]


def _outbox(data: Path, job_id: str) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (data / "outbox" / job_id).glob("*.eml")}


def _drafts(state: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each draft's subject and body, by login."""
    return {login: (draft["subject"], draft["body"]) for login, draft in state["to_send"].items()}


def _newest(node: str) -> dict[str, Any]:
    """The original's newest checkpoint written by `node`, as `history --node` lists it."""
    rows: list[dict[str, Any]] = cli_json("history", ORIGINAL, "--node", node, "--json")
    assert rows and {row["node"] for row in rows} == {node}, rows
    assert rows[0]["step"] == max(row["step"] for row in rows), "history lists the newest first"
    return rows[0]


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory, demo_snapshot: dict[str, Any]) -> Iterator[Campaign]:
    """A finished outbox campaign over one repository of the stand-in, with the environment of an
    in-process CLI call (private data directory as the working directory's child, no credentials)."""
    home = tmp_path_factory.mktemp("replay")
    with pytest.MonkeyPatch.context() as patch, GitHubStandIn(demo_snapshot) as github:
        for name in _UNSET:
            patch.delenv(name, raising=False)
        patch.setenv("CMO_DATA_DIR", str(home / "data"))
        patch.setenv("GITHUB_API_URL", github.url)
        patch.setenv("CMO_GITHUB_CACHE_TTL", "0")  # no cross-job cache: a fork's lookups would all be requests
        patch.setenv("CMO_GITHUB_MAX_PER_MIN", "60000")
        patch.setenv("CMO_MX_CHECK", "false")
        patch.setenv("LANGSMITH_TRACING", "false")
        patch.chdir(home)  # no stray .env is read
        summary = cli_json("run", GOAL, "--job-id", ORIGINAL, "--max-repos", "1", "--json")
        assert summary["status"] == "done", summary
        yield Campaign(
            data=home / "data",
            github=github,
            requests=github.count(),
            history=cli_json("history", ORIGINAL, "--json"),
            state=cli_json("export", ORIGINAL, "--out", "-"),
            outbox=_outbox(home / "data", ORIGINAL),
        )


def _assert_original_untouched(original: Campaign) -> None:
    assert cli_json("history", ORIGINAL, "--json") == original.history, "the original's checkpoints changed"
    assert cli_json("export", ORIGINAL, "--out", "-") == original.state
    assert _outbox(original.data, ORIGINAL) == original.outbox
    assert cli_json("status", ORIGINAL, "--json")["status"] == "done"


def test_a_fork_at_the_last_enrich_checkpoint_asks_github_nothing_and_drafts_the_same(original: Campaign) -> None:
    assert original.requests > 0 and original.state["to_send"] and original.outbox
    enrich = _newest("enrich")
    before = original.github.count()

    summary = cli_json("replay", ORIGINAL, enrich["checkpoint_id"], "--job-id", "fork-1", "--json")

    assert original.github.count() == before, "stages done before the checkpoint ask GitHub nothing"
    assert (summary["job_id"], summary["status"]) == ("fork-1", "done")
    assert cli_json("status", "fork-1", "--json")["status"] == "done"
    fork = cli_json("export", "fork-1", "--out", "-")
    assert fork["job_id"] == "fork-1" and fork["completed_at"]
    at_checkpoint = cli_json("export", ORIGINAL, "--checkpoint", enrich["checkpoint_id"], "--out", "-")
    assert fork["forked_from"] == {
        "job_id": ORIGINAL,
        "checkpoint_id": enrich["checkpoint_id"],
        "node": "enrich",
        "counters": at_checkpoint["counters"],
    }
    # The fork's counters are its own: no GitHub request, while the original's stay on record.
    assert fork["counters"].get("github_api_calls", 0) == 0 < at_checkpoint["counters"]["github_api_calls"]
    assert summary["counters"].get("github_api_calls", 0) == 0
    assert _drafts(fork) == _drafts(original.state)
    fork_outbox = _outbox(original.data, "fork-1")
    assert sorted(fork_outbox) == sorted(original.outbox) and len(fork_outbox) == len(fork["to_send"])

    # The fork's own history starts at the checkpoint's state and runs only the stages after it.
    forked = cli_json("history", "fork-1", "--json")
    assert forked[-1]["counts"] == enrich["counts"]
    assert not {"discover", "extract_candidates", "enrich"} & {row["node"] for row in forked}
    assert forked[0]["node"] == "report"
    _assert_original_untouched(original)


def test_a_fork_with_a_higher_min_score_drafts_for_fewer_leads_without_asking_github(original: Campaign) -> None:
    enrich = _newest("enrich")
    before = original.github.count()

    summary = cli_json(
        "replay", ORIGINAL, enrich["checkpoint_id"], "--job-id", "fork-strict", "--min-score", "90", "--json"
    )

    assert original.github.count() == before
    assert summary["status"] == "done"
    fork = cli_json("export", "fork-strict", "--out", "-")
    assert fork["params"]["min_score"] == 90
    qualified = {login for login, lead in fork["leads"].items() if lead.get("qualified")}
    was_qualified = {login for login, lead in original.state["leads"].items() if lead.get("qualified")}
    assert qualified <= was_qualified
    assert 0 < len(qualified) < len(was_qualified), "90 must fall inside the scores for this test to say anything"
    assert qualified == {login for login in was_qualified if original.state["leads"][login]["score"] >= 90}
    assert set(fork["to_send"]) == qualified
    assert _drafts(fork) == {login: _drafts(original.state)[login] for login in qualified}
    assert len(_outbox(original.data, "fork-strict")) == len(qualified)
    _assert_original_untouched(original)


def test_bad_replays_are_refused_in_one_line_and_start_nothing(original: Campaign) -> None:
    enrich = _newest("enrich")["checkpoint_id"]
    jobs = {job["job_id"] for job in cli_json("status", "--json")}
    before = original.github.count()
    cases = {
        ("replay", ORIGINAL, enrich, "--job-id", "bad-template", "--template", "intro_v9"): (
            "error: --template: no such version 'intro_v9' in prompts/email (there are: intro_v2)"
        ),
        ("replay", ORIGINAL, enrich, "--job-id", "bad-prompt", "--prompt", "nope"): (
            "error: --prompt: no such version 'nope' in prompts/email"
        ),
        ("replay", ORIGINAL, "nope", "--job-id", "bad-checkpoint"): NO_CHECKPOINT,
        ("replay", "no-such-job", enrich, "--job-id", "bad-job"): "error: no job 'no-such-job'",
        ("replay", ORIGINAL, enrich, "--job-id", ORIGINAL): (
            f"error: job '{ORIGINAL}' already exists; choose another --job-id"
        ),
    }
    for args, says in cases.items():
        refused = cli(*args, code=2)
        assert refused.stderr.startswith(says) and refused.stderr.count("\n") == 1, (args, refused.stderr)
        assert refused.stdout == "", args
    assert {job["job_id"] for job in cli_json("status", "--json")} == jobs, "a refused replay created a job"
    assert original.github.count() == before
    _assert_original_untouched(original)


def test_export_at_a_checkpoint_is_the_state_history_counted_there(original: Campaign) -> None:
    enrich = _newest("enrich")
    at_enrich = cli_json("export", ORIGINAL, "--checkpoint", enrich["checkpoint_id"], "--out", "-")
    assert at_enrich["leads"] and len(at_enrich.get("to_send") or {}) < len(original.state["to_send"])
    assert not at_enrich.get("completed_at")
    for row in original.history:
        state = cli_json("export", ORIGINAL, "--checkpoint", row["checkpoint_id"], "--out", "-")
        counted = {key: len(state.get(key) or ()) for key in COUNTED}
        assert counted == {key: row["counts"][key] for key in COUNTED}, (row["step"], row["node"])

    written = Path(cli("export", ORIGINAL, "--checkpoint", enrich["checkpoint_id"]).stdout.strip())
    assert written == original.data / f"runstate_{ORIGINAL}@{enrich['checkpoint_id']}.json"
    assert json.loads(written.read_text()) == at_enrich

    for out in ((), ("--out", "-")):
        refused = cli("export", ORIGINAL, "--checkpoint", "nope", *out, code=2)
        assert refused.stderr == NO_CHECKPOINT
        assert refused.stdout == ""
    _assert_original_untouched(original)


def test_a_fork_at_the_input_checkpoint_runs_like_a_new_job(original: Campaign) -> None:
    first = min(original.history, key=lambda row: row["step"])
    assert first["node"] == "(input)" and not any(first["counts"].values())
    before = original.github.count()

    summary = cli_json("replay", ORIGINAL, first["checkpoint_id"], "--job-id", "fork-0", "--json")

    assert summary["status"] == "done"
    asked = original.github.count() - before
    assert asked == original.requests, "nothing was checkpointed: every lookup is made again"
    fork = cli_json("export", "fork-0", "--out", "-")
    assert fork["counters"]["github_api_calls"] == asked
    assert _drafts(fork) == _drafts(original.state)
    assert sorted(_outbox(original.data, "fork-0")) == sorted(original.outbox)
    assert {row["node"] for row in cli_json("history", "fork-0", "--json")} >= {"discover", "enrich", "report"}
    _assert_original_untouched(original)
