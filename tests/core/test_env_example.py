""".env.example and Settings agree: every variable it names is a setting, every setting is named there
with a value that validates, and every setting says what it does."""

from __future__ import annotations

import os
import re

import pytest

from cmo_agent.core.config import Settings
from tests.conftest import REPO_ROOT

ENV_EXAMPLE = REPO_ROOT / ".env.example"
# `VAR=value`, or commented out as `# VAR=value`; prose comments never start with `NAME=`.
_ASSIGNMENT = re.compile(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
_PREFIXES = ("CMO_", "GITHUB_", "OPENAI_", "SMTP_")


def example_values(text: str) -> dict[str, str]:
    """Each variable `.env.example` names, with its example value ("" when none is given)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if match := _ASSIGNMENT.match(line.strip()):
            found[match.group(1)] = match.group(2).strip()
    return found


EXAMPLE = example_values(ENV_EXAMPLE.read_text(encoding="utf-8"))
ALIASES = {field.alias: name for name, field in Settings.model_fields.items() if field.alias}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real configuration of the machine running the tests leaks into Settings."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)


def test_every_setting_has_an_alias() -> None:
    assert len(ALIASES) == len(Settings.model_fields)


def test_the_example_names_only_settings() -> None:
    unknown = sorted(set(EXAMPLE) - set(ALIASES))
    assert not unknown, f".env.example names variables no setting reads: {unknown}"


def test_the_example_names_every_setting() -> None:
    missing = sorted(set(ALIASES) - set(EXAMPLE))
    assert not missing, f"settings missing from .env.example: {missing}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_described(name: str) -> None:
    description = Settings.model_fields[name].description
    assert description and description.strip(), f"{name} has no description"


@pytest.mark.parametrize("variable", sorted(name for name, value in EXAMPLE.items() if value))
def test_example_value_validates(variable: str, clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The value as the product reads it: from the environment (JSON settings such as CMO_LLM_PRICES
    are decoded only there, not when passed to the constructor), with no `.env` file."""
    assert variable in ALIASES, f"{variable} is not a setting"
    monkeypatch.setenv(variable, EXAMPLE[variable])
    settings = Settings(_env_file=None)
    assert ALIASES[variable] in settings.model_fields_set, f"{variable}={EXAMPLE[variable]} was not read"
