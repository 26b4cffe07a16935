"""Every command is documented: `--help` answers for each, and each command, argument and option
says what it is for. (That `--help` loads no pipeline is checked in a fresh process, in
tests/cli/test_demo_campaign.py.)"""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cmo_agent.cli import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) of every command and subcommand under `group` (a click group, as Typer builds it)."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in sorted(group.commands.items()):
        found.append(((*path, name), command))
        if hasattr(command, "commands"):
            found += _commands(command, (*path, name))
    return found


def _words(text: str) -> str:
    return " ".join(text.split())


COMMANDS = _commands(typer.main.get_command(app))


def test_the_commands_are_the_known_ones() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    documented = {"run", "resume", "approve", "pause", "status", "history", "export", "suppress", "sync", "report"}
    documented |= {"replay", "studio", "worker", "prune"}
    assert documented | {f"suppress {name}" for name in ("add", "remove", "list", "import")} == names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_each_command_answers_help_and_documents_every_parameter(path: tuple[str, ...], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    shown = _words(result.stdout)
    assert shown.startswith(f"Usage: cmo-agent {' '.join(path)} ")
    assert command.help and _words(command.help) in shown
    undocumented = [param.name for param in command.params if not getattr(param, "help", None)]
    assert undocumented == []
