"""Address hygiene: what is dropped, and why."""

from __future__ import annotations

import pytest

from cmo_agent.accounts import is_bot
from cmo_agent.stages.hygiene import check_address


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("12345+ada@users.noreply.github.com", "noreply"),
        ("ada@users.noreply.github.com", "noreply"),
        ("noreply@github.com", "noreply"),
        ("info@acme-ai.dev", "role_account"),
        ("Support@acme-ai.dev", "role_account"),
        ("john.doe@", "invalid_syntax"),
        ("name at domain.com", "invalid_syntax"),
    ],
)
def test_unfit_addresses_are_dropped_with_a_reason(address: str, reason: str) -> None:
    assert check_address(address) == (None, reason)


def test_a_personal_address_passes_with_its_domain_normalized() -> None:
    assert check_address("Priya.N@Example.ORG") == ("Priya.N@example.org", None)


@pytest.mark.parametrize(
    ("login", "kind", "bot"),
    [
        ("dependabot[bot]", "Bot", True),
        ("renovate[bot]", "User", True),
        ("ml-release-bot", "Bot", True),
        ("ada", "User", False),
    ],
)
def test_bots(login: str, kind: str, bot: bool) -> None:
    assert is_bot(login, kind) is bot
