"""Shared fixtures: the loopback GitHub stand-in, isolated data directories, a CLI runner, a wait
loop, and the guard that keeps tests not marked `e2e` (the fast tier) in-process."""

from __future__ import annotations

import os
import secrets
import socket
import socketserver
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cmo_agent.core.records import ErrorRecord
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.demo.snapshot import load_snapshot
from tests.loopback.smtp_server import SmtpStandIn

REPO_ROOT = Path(__file__).resolve().parents[1]
# Variables a developer's shell may carry that must not leak into tests.
_SCRUBBED = ("GITHUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "CMO_CHECKPOINT_URL", "GITHUB_API_URL", "SMTP_HOST")


def _refused(what: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{what} in a test not marked e2e: mark it `@pytest.mark.e2e` (see README, Development)")

    return refuse


@pytest.fixture(autouse=True)
def _fast_tier_stays_in_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test not marked e2e may not start a server, a Python subprocess or a forked process, so
    that `make test-fast` is what it says (tools such as chattr may still run)."""
    if request.node.get_closest_marker("e2e") is not None:
        return
    monkeypatch.setattr(socket.socket, "listen", _refused("a server was started"))
    monkeypatch.setattr(socketserver.UDPServer, "server_activate", _refused("a UDP server was started"))
    monkeypatch.setattr(os, "fork", _refused("a process was forked"))
    python_bin = Path(sys.executable).parent
    popen_init = subprocess.Popen.__init__

    def popen(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        program = Path(str(args[0] if isinstance(args, list | tuple) else args).split()[0])
        if program.parent == python_bin:
            _refused(f"{program.name} was run as a subprocess")()
        popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", popen)


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults for in-process Settings: MX checks would ask the machine's resolver (tests that
    check MX bring a loopback one), and the stand-ins need no pacing (tests of pacing set it)."""
    monkeypatch.setenv("CMO_MX_CHECK", "false")
    monkeypatch.setenv("CMO_GITHUB_MAX_PER_MIN", "60000")


ADMIN_URL = os.environ.get("CMO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards (e2e tests only: it needs the machine's PostgreSQL)."""
    if request.node.get_closest_marker("e2e") is None:
        _refused("PostgreSQL was used")()
    name = f"cmo_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def demo_snapshot() -> dict[str, Any]:
    return load_snapshot()


@pytest.fixture
def github(demo_snapshot: dict[str, Any]) -> Iterator[GitHubStandIn]:
    """The stand-in serving the demo snapshot on 127.0.0.1, with its own request log."""
    with GitHubStandIn(demo_snapshot) as stand_in:
        yield stand_in


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    """The loopback SMTP relay (plain, no AUTH), with its own log of what it accepted."""
    with SmtpStandIn() as server:
        yield server


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """A process environment with a private data directory and no real credentials."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(
        CMO_DATA_DIR=str(tmp_path / "data"),
        CMO_GITHUB_MAX_PER_MIN="60000",
        CMO_MX_CHECK="false",
        LANGSMITH_TRACING="false",
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def planted_missing(snapshot: dict[str, Any], state: RunState) -> set[str]:
    """The candidates whose account the snapshot deleted on purpose (their profile is a 404)."""
    return set(snapshot["traps"]["missing_profile"]) & set(state.get("candidates", {}))


def unexpected_errors(snapshot: dict[str, Any], state: RunState) -> list[ErrorRecord]:
    """Errors recorded for anything but the snapshot's planted missing profiles."""
    missing = planted_missing(snapshot, state)
    return [error for error in state.get("errors", []) if error.get("item") not in missing]


def wait_until(
    condition: Callable[[], object],
    timeout: float = 60,
    proc: subprocess.Popen[str] | None = None,
    what: str = "the condition",
    every: float = 0.01,
) -> None:
    """Poll `condition` every `every` seconds until it holds: for waiting on what another thread or
    process does, instead of a sleep of a guessed length. Fails after `timeout` seconds, or as soon as
    `proc`, the process expected to bring it about, has ended."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended before {what}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(every)


def start_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`python -m cmo_agent ARGS` started in the background, its output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "cmo_agent", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_run_until(
    args: list[str], env: dict[str, str], cwd: Path, github: GitHubStandIn, path_regex: str, requests: int
) -> subprocess.Popen[str]:
    """Start `cmo-agent ARGS` in the background and return once the stand-in has served
    `requests` requests on paths matching `path_regex` (the moment to interrupt it)."""
    proc = start_cli(args, env, cwd)
    wait_until(lambda: github.count(path_regex) >= requests, proc=proc, what=f"{requests} requests to {path_regex}")
    return proc


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m cmo_agent ARGS` as a user would run it (from `cwd`, so no stray .env is read)."""
    return subprocess.run(
        [sys.executable, "-m", "cmo_agent", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
