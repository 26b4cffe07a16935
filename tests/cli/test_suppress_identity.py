"""`suppress add|list|remove github:LOGIN` in-process: GitHub accounts are entries too (offline: the
login is stored lowercased, never resolved), and a malformed one is refused in one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmo_agent.cli import app


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_accounts_are_added_listed_and_removed(cli_env: Path) -> None:
    assert _invoke("suppress", "add", "github:Ada-L", "GitHub:ada-l", "github-id:0042", "ada@example.org") == (
        0,
        "suppressed 3 new, 0 already listed\n",
        "",
    )
    code, out, _ = _invoke("suppress", "list", "--json")
    assert code == 0 and [e["entry"] for e in json.loads(out)] == ["ada@example.org", "github-id:42", "github:ada-l"]
    assert _invoke("suppress", "remove", "github:ADA-L", "github:nobody")[:2] == (0, "removed 1, 1 were not listed\n")


@pytest.mark.parametrize("entry", ["github:", "github:-ada", "github:ada_l", "github:" + "a" * 40, "github-id:x1"])
def test_a_malformed_account_is_refused_in_one_line(cli_env: Path, entry: str) -> None:
    code, out, err = _invoke("suppress", "add", "github:fine", entry)
    assert code == 2 and out == "" and err.startswith("error: not a GitHub") and err.count("\n") == 1
    assert json.loads(_invoke("suppress", "list", "--json")[1]) == []
