"""Which GitHub accounts and addresses are not people to write to: bots, and private noreply mailboxes."""

from __future__ import annotations


def is_bot(login: str, account_type: str | None) -> bool:
    """GitHub bots: accounts of type Bot, and `[bot]` logins whatever their type says."""
    return account_type == "Bot" or login.lower().endswith("[bot]")


def is_noreply(address: str) -> bool:
    """GitHub's private addresses and other do-not-reply mailboxes: a person's choice not to be written to."""
    local, _, domain = address.lower().rpartition("@")
    return domain.endswith("users.noreply.github.com") or local in ("noreply", "no-reply", "donotreply", "do-not-reply")
