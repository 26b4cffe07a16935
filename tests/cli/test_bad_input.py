"""Every bad input and broken environment: exit code 2, one line on stderr, no traceback, nothing
written, no secret repeated. The CLI runs in-process (CliRunner) except where the process matters."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmo_agent.cli import app

GOAL = "Find active ML engineers"
SECRETS = {
    "GITHUB_TOKEN": "ghp_tokenSECRET1234567890",
    "OPENAI_API_KEY": "sk-keySECRET1234567890",
    "SMTP_PASSWORD": "smtpSECRET1234567890",
    "IMAP_PASSWORD": "imapSECRET1234567890",
}
DB_PASSWORD = "hunter2SECRETpw"


@dataclass
class Case:
    """One bad invocation: its arguments, environment, files it needs, and what the error line says."""

    args: list[str]
    says: str
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Path], None] | None = None


def _file(name: str, text: str) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        (root / name).write_text(text, encoding="utf-8")

    return write


def _corrupt_db(root: Path) -> None:
    (root / "data").mkdir()
    (root / "data" / "cmo_agent.db").write_bytes(b"this is not a database, " * 200)


def _finished_job(root: Path) -> None:
    shutil.copytree(_finished_job_dir(), root / "data")


_FINISHED: list[Path] = []


def _finished_job_dir() -> Path:
    """A data directory holding the finished job `done` (written once per test session)."""
    if not _FINISHED:
        raise RuntimeError("the finished_job fixture did not run")
    return _FINISHED[0]


def _symlink_out(root: Path) -> None:
    _finished_job(root)
    (root / "target.json").write_text("keep me\n")
    (root / "link.json").symlink_to(root / "target.json")


def _existing_out(root: Path) -> None:
    _finished_job(root)
    (root / "out.json").write_text("keep me\n")


def _directory_out(root: Path) -> None:
    _finished_job(root)
    (root / "outdir").mkdir()


def _data_dir_is_a_file(root: Path) -> None:
    (root / "data").write_text("not a directory\n")


ICP = "icp.toml"
CASES: dict[str, Case] = {
    # the goal
    "goal-empty": Case(["run", ""], "the goal is empty"),
    "goal-blank": Case(["run", "  \t "], "the goal is empty"),
    "goal-too-long": Case(["run", "x" * 3000], "at most 2000"),
    "goal-not-utf8": Case(["run", "Find \udcff people"], "not valid UTF-8"),
    # run options
    "query-blank": Case(["run", GOAL, "--query", "   "], "--query: is blank"),
    "query-too-long": Case(["run", GOAL, "--query", "topic:ml " + "a" * 300], "GitHub allows 256"),
    "query-operators": Case(["run", GOAL, "--query", " OR ".join("abcdefgh")], "operators"),
    "query-control": Case(["run", GOAL, "--query", "topic:ml\x1b[31m"], "control character"),
    "query-quotes": Case(["run", GOAL, "--query", 'topic:ml "unclosed'], "unbalanced quotes"),
    "max-leads-huge": Case(["run", GOAL, "--max-leads", str(2**70)], "--max-leads"),
    "max-leads-zero": Case(["run", GOAL, "--max-leads", "0"], "--max-leads"),
    "max-repos-huge": Case(["run", GOAL, "--max-repos", str(10**30)], "--max-repos"),
    "min-score-high": Case(["run", GOAL, "--min-score", "101"], "--min-score"),
    "max-leads-text": Case(["run", GOAL, "--max-leads", "many"], "--max-leads"),
    "email-sources": Case(["run", GOAL, "--email-sources", "profile,phonebook"], "--email-sources"),
    "email-sources-empty": Case(["run", GOAL, "--email-sources", ","], "--email-sources"),
    "deliver-unknown": Case(["run", GOAL, "--deliver", "pigeon"], "--deliver"),
    "deliver-smtp-demo": Case(["run", GOAL, "--deliver", "smtp", "--demo"], "outbox only"),
    "deliver-smtp-no-identity": Case(["run", GOAL, "--deliver", "smtp"], "CMO_SENDER_EMAIL"),
    "unknown-option": Case(["run", GOAL, "--bogus"], "No such option"),
    "unknown-command": Case(["frobnicate"], "No such command"),
    # job ids
    "job-id-empty": Case(["run", GOAL, "--demo", "--job-id", ""], "invalid job id ''"),
    "job-id-newline": Case(["run", GOAL, "--demo", "--job-id", "abc\n"], "invalid job id"),
    "job-id-path": Case(["run", GOAL, "--demo", "--job-id", "../etc"], "invalid job id"),
    "job-id-long": Case(["run", GOAL, "--demo", "--job-id", "j" * 65], "invalid job id"),
    # the ICP file
    "icp-missing": Case(["run", GOAL, "--icp", "nope.toml"], "cannot read"),
    "icp-not-toml": Case(["run", GOAL, "--icp", ICP], "not valid TOML", prepare=_file(ICP, "topics = [")),
    "icp-inf-weight": Case(
        ["run", GOAL, "--icp", ICP], "weights.topics", prepare=_file(ICP, "[weights]\ntopics = inf")
    ),
    "icp-nan-weight": Case(
        ["run", GOAL, "--icp", ICP], "weights.company", prepare=_file(ICP, "[weights]\ncompany = nan")
    ),
    "icp-negative": Case(
        ["run", GOAL, "--icp", ICP], "weights.location", prepare=_file(ICP, "[weights]\nlocation = -1")
    ),
    "icp-huge-int": Case(
        ["run", GOAL, "--icp", ICP],
        "active_within_days",
        prepare=_file(ICP, "active_within_days = 9223372036854775807"),
    ),
    "icp-unknown-key": Case(["run", GOAL, "--icp", ICP], "colour", prepare=_file(ICP, 'colour = "blue"')),
    # settings
    "github-url": Case(["run", GOAL], "GITHUB_API_URL", env={"GITHUB_API_URL": "notaurl"}),
    "openai-url": Case(["run", GOAL], "OPENAI_BASE_URL", env={"OPENAI_BASE_URL": "ftp://models.example"}),
    "batch-size-huge": Case(["run", GOAL], "CMO_BATCH_SIZE", env={"CMO_BATCH_SIZE": str(10**20)}),
    "llm-timeout-nan": Case(["run", GOAL], "CMO_LLM_TIMEOUT", env={"CMO_LLM_TIMEOUT": "nan"}),
    "cache-ttl-inf": Case(["run", GOAL], "CMO_GITHUB_CACHE_TTL", env={"CMO_GITHUB_CACHE_TTL": "inf"}),
    "send-rate-zero": Case(["run", GOAL], "CMO_SEND_RATE_PER_MIN", env={"CMO_SEND_RATE_PER_MIN": "0"}),
    "smtp-port": Case(["run", GOAL], "SMTP_PORT", env={"SMTP_PORT": "70000"}),
    "pitch-link": Case(
        ["run", GOAL, "--demo"], "CMO_PITCH links to a page", env={"CMO_PITCH": "Try it at https://evil.example/x"}
    ),
    "data-dir-empty": Case(["status"], "CMO_DATA_DIR: is empty", env={"CMO_DATA_DIR": ""}),
    "data-dir-file": Case(["run", GOAL, "--demo"], "not a directory", prepare=_data_dir_is_a_file),
    "sqlite-corrupt-run": Case(["run", GOAL, "--demo"], "file is not a database", prepare=_corrupt_db),
    "sqlite-corrupt-status": Case(["status"], "file is not a database", prepare=_corrupt_db),
    "checkpoint-url-scheme": Case(
        ["status"], "expected sqlite", env={"CMO_CHECKPOINT_URL": f"postgress://cmo:{DB_PASSWORD}@db/cmo"}
    ),
    "checkpoint-url-port": Case(
        ["status"], "CMO_CHECKPOINT_URL", env={"CMO_CHECKPOINT_URL": f"postgresql://cmo:{DB_PASSWORD}@db:port/cmo"}
    ),
    "postgres-unreachable": Case(
        ["status", "some-job"],
        "cannot connect to PostgreSQL",
        env={"CMO_CHECKPOINT_URL": f"postgresql://cmo:{DB_PASSWORD}@127.0.0.1:1/cmo"},
    ),
    # commands on jobs that do not exist (and no database yet: none may be created)
    "status-unknown": Case(["status", "nope"], "no job 'nope'"),
    "history-unknown": Case(["history", "nope"], "no job 'nope'"),
    "history-unknown-node": Case(
        ["history", "done", "--node", "nope"], "--node: expected one of", prepare=_finished_job
    ),
    "export-unknown": Case(["export", "nope"], "no job 'nope'"),
    "resume-unknown": Case(["resume", "nope"], "no job 'nope'"),
    "pause-unknown": Case(["pause", "nope"], "no job 'nope'"),
    "approve-unknown": Case(["approve", "nope"], "no job 'nope'"),
    "prune-unknown": Case(["prune", "nope"], "no job 'nope'"),
    "prune-unknown-with-db": Case(["prune", "nope"], "no job 'nope'", prepare=_finished_job),
    "status-unknown-with-db": Case(["status", "nope"], "no job 'nope'", prepare=_finished_job),
    "pause-not-running": Case(["pause", "done"], "is not running", prepare=_finished_job),
    "approve-not-waiting": Case(["approve", "done"], "not waiting for approval", prepare=_finished_job),
    "run-follow-up-after": Case(["run", GOAL, "--demo", "--follow-ups", "1", "--follow-up-after", "soon"], "3d, 12h"),
    "run-follow-up-after-zero": Case(["run", GOAL, "--demo", "--follow-up-after", "0s"], "got '0s'"),
    "run-too-many-follow-ups": Case(["run", GOAL, "--demo", "--follow-ups", "9"], "--follow-ups"),
    "run-existing-id": Case(["run", GOAL, "--demo", "--job-id", "done"], "already exists", prepare=_finished_job),
    # checkpoints, forks and the Studio server
    "export-unknown-checkpoint": Case(
        ["export", "done", "--checkpoint", "nope"], "no checkpoint 'nope'", prepare=_finished_job
    ),
    "replay-unknown-job": Case(["replay", "nope", "1f0-nope"], "no job 'nope'"),
    "replay-unknown-checkpoint": Case(["replay", "done", "nope"], "no checkpoint 'nope'", prepare=_finished_job),
    "replay-bad-deliver": Case(["replay", "done", "nope", "--deliver", "fax"], "--deliver", prepare=_finished_job),
    "replay-bad-min-score": Case(["replay", "done", "nope", "--min-score", "101"], "--min-score"),
    "studio-bad-port": Case(["studio", "--port", "0"], "--port"),
    # the work queue needs PostgreSQL
    "run-enqueue-sqlite": Case(["run", GOAL, "--demo", "--enqueue"], "the work queue needs PostgreSQL"),
    "resume-enqueue-sqlite": Case(["resume", "done", "--enqueue"], "needs PostgreSQL", prepare=_finished_job),
    "worker-sqlite": Case(["worker"], "the work queue needs PostgreSQL"),
    "worker-bad-concurrency": Case(["worker", "--concurrency", "0"], "--concurrency"),
    # export targets
    "export-onto-directory": Case(["export", "done", "--out", "outdir"], "is a directory", prepare=_directory_out),
    "export-onto-file": Case(["export", "done", "--out", "out.json"], "--force", prepare=_existing_out),
    "export-onto-symlink": Case(
        ["export", "done", "--out", "link.json", "--force"], "symbolic link", prepare=_symlink_out
    ),
    "export-onto-device": Case(
        ["export", "done", "--out", "/dev/null", "--force"], "not a regular file", prepare=_finished_job
    ),
    "export-missing-dir": Case(["export", "done", "--out", "no/such/dir.json"], "no directory", prepare=_finished_job),
    # the suppression list
    "suppress-bad-entry": Case(["suppress", "add", "not-an-address"], "not an email address"),
    "suppress-reason-not-utf8": Case(["suppress", "add", "a@example.com", "--reason", "x\udcff"], "not valid UTF-8"),
    "suppress-import-missing": Case(["suppress", "import", "nope.csv"], "cannot read"),
    "suppress-import-no-address": Case(
        ["suppress", "import", "list.csv"],
        "line 3: no address",
        prepare=_file("list.csv", "email,name\na@x.org,A\n,B\n"),
    ),
    "suppress-import-malformed": Case(
        ["suppress", "import", "list.txt"], "line 2", prepare=_file("list.txt", "a@x.org\nb@@x.org\n")
    ),
}


@pytest.fixture(autouse=True)
def finished_job(finished_data: Path) -> None:
    """The finished job `done` (tests/cli/conftest.py), copied into the cases that need a job to exist."""
    _FINISHED[:] = [finished_data]


def _tree(root: Path) -> dict[str, str]:
    """Every path under `root` with a digest of its content (symlinks by their target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path)] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[str(path)] = "dir"
    return found


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CMO_CHECKPOINT_URL", "GITHUB_API_URL", "OPENAI_BASE_URL", "SMTP_HOST", "CMO_PITCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    for name, value in {**SECRETS, **case.env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env; relative paths land here
    if case.prepare is not None:
        case.prepare(tmp_path)
    before = _tree(tmp_path)

    result = CliRunner().invoke(app, case.args, catch_exceptions=False)

    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert case.says in lines[0], lines[0]
    assert result.stdout == ""
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for secret in [*SECRETS.values(), DB_PASSWORD]:
        assert secret not in output
    assert _tree(tmp_path) == before, "a bad input must not write anything"


def test_an_unwritable_database_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An immutable SQLite file (root ignores permissions, so `chattr +i` stands in for a read-only disk)."""
    _finished_job(tmp_path)
    db = tmp_path / "data" / "cmo_agent.db"
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True, check=False).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.chdir(tmp_path)
        before = _tree(tmp_path)
        refused = CliRunner().invoke(app, ["run", GOAL, "--demo", "--job-id", "new"], catch_exceptions=False)
        assert refused.exit_code == 2 and "readonly database" in refused.stderr, refused.stderr
        assert len(refused.stderr.splitlines()) == 1
        # Opening a WAL database creates its -wal and -shm files; nothing else may appear or change.
        after = {path: digest for path, digest in _tree(tmp_path).items() if not path.endswith(("-wal", "-shm"))}
        assert after == before
        readable = CliRunner().invoke(app, ["status", "done", "--json"], catch_exceptions=False)
        assert readable.exit_code == 0, readable.stderr
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


def test_export_to_stdout_and_force_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _existing_out(tmp_path)
    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    to_stdout = CliRunner().invoke(app, ["export", "done", "--out", "-"], catch_exceptions=False)
    assert to_stdout.exit_code == 0 and to_stdout.stdout.startswith("{")
    assert not (tmp_path / "-").exists()
    forced = CliRunner().invoke(app, ["export", "done", "--out", "out.json", "--force"], catch_exceptions=False)
    assert forced.exit_code == 0, forced.stderr
    assert (tmp_path / "out.json").read_text() == to_stdout.stdout
    assert oct((tmp_path / "out.json").stat().st_mode & 0o777) == "0o600", "exports hold personal data"
    assert not list(tmp_path.glob(".out.json.*")), "no temporary file is left behind"


def _run_process(args: list[bytes | str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cmo_agent", *args], env=env, cwd=cwd, capture_output=True, timeout=60, check=False
    )


@pytest.mark.e2e
def test_a_real_process_refuses_non_utf8_arguments_and_an_unreachable_database(
    tmp_path: Path, base_env: dict[str, str]
) -> None:
    """What only a real process shows: argv bytes that are not UTF-8, and a database that refuses connections."""
    goal = _run_process([b"run", b"Find \xff\xfe people", b"--demo"], base_env, tmp_path)
    assert goal.returncode == 2
    assert goal.stderr.decode().strip() == "error: the goal is not valid UTF-8"
    env = base_env | {"CMO_CHECKPOINT_URL": f"postgresql://cmo:{DB_PASSWORD}@127.0.0.1:1/cmo"}
    down = _run_process(["run", GOAL, "--demo"], env, tmp_path)
    assert down.returncode == 2
    err = down.stderr.decode()
    assert err.startswith("error: cannot connect to PostgreSQL at postgresql://cmo:***@127.0.0.1:1/cmo")
    assert len(err.splitlines()) == 1 and DB_PASSWORD not in err and down.stdout == b""
    assert not (tmp_path / "data").exists()
