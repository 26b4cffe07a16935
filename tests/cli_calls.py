"""`cmo-agent` commands run in process, for tests that drive a campaign through its CLI."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from cmo_agent.cli import app


def cli(*args: str, code: int = 0) -> Result:
    """`cmo-agent ARGS`, which must exit with `code` (its output is in the failure message)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def cli_json(*args: str) -> Any:
    """The JSON a `cmo-agent ARGS` that exits 0 prints."""
    return json.loads(cli(*args).stdout)
