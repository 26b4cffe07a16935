"""`suppress add|import|list|remove` run in-process (CliRunner): entries are stored normalized, listed,
and taken off again (hygiene's use of the list is tested in tests/stages/test_hygiene_checks.py)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from cmo_agent.cli import app


def _invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


def _listed() -> list[tuple[str, str]]:
    return [(entry["entry"], entry["reason"]) for entry in json.loads(_invoke("suppress", "list", "--json").stdout)]


def test_entries_are_added_listed_and_removed(cli_env: Path) -> None:
    assert _listed() == [] and not cli_env.exists(), "listing an empty list creates nothing"
    Path("dnc.csv").write_text("email,name\nADA@Example.org,Ada\n\n# a comment\nbob@example.org,Bob\n")
    assert _invoke("suppress", "import", "dnc.csv").stdout == "suppressed 2 new, 0 already listed\n"
    added = _invoke("suppress", "add", "@Spam.Example", "bob@example.org", "--reason", "asked us")
    assert added.stdout == "suppressed 1 new, 1 already listed\n"
    assert sorted(_listed()) == [
        ("@spam.example", "asked us"),
        ("ada@example.org", "import"),
        ("bob@example.org", "import"),
    ]
    text = _invoke("suppress", "list").stdout.splitlines()
    assert len(text) == 3 and all(line.count("\t") == 3 for line in text)

    assert _invoke("suppress", "remove", "Ada@example.org", "carol@example.org").stdout == (
        "removed 1, 1 were not listed\n"
    )
    assert sorted(entry for entry, _ in _listed()) == ["@spam.example", "bob@example.org"]
