"""Draft checks by example: links only to pages the facts gave, no pretended replies, no markup,
placeholders, header-like lines or addresses other than the sender's."""

from __future__ import annotations

import pytest

from cmo_agent.drafting.checks import draft_problem

SENDER = "dana@example.com"


@pytest.mark.parametrize(
    ("subject", "body", "problem"),
    [
        (
            "Your work on tensorforge",
            "Hi Ada,\n\nSee https://github.com/lumenlabs/tensorforge/pulls for " + "x" * 80,
            None,
        ),
        ("Your work on tensorforge", "Hi Ada,\n\nMy site www.example.com/about has more. " + "x" * 80, None),
        ("Your work on tensorforge", "Hi Ada,\n\nReply to dana@example.com any time. " + "x" * 80, None),
        ("Your work", "Hi Ada,\n\nSee github.com/someone-else/repo please. " + "x" * 80, "not given"),
        ("Your work", "Hi Ada,\n\nSee tinyurl.com/abc please. " + "x" * 80, "not given"),
        ("Your work", "Hi Ada,\n\nSee javascript://alert please. " + "x" * 80, "not given"),
        ("RE: hello", "Hi Ada,\n\n" + "x" * 80, "pretends"),
        ("[Re]: hello", "Hi Ada,\n\n" + "x" * 80, "pretends"),
        ("Hello\u202e", "Hi Ada,\n\n" + "x" * 80, "invisible"),
        ("Hello {{ first_name }}", "Hi Ada,\n\n" + "x" * 80, "markup"),
        ("Hello", "Hi [First Name],\n\n" + "x" * 80, "placeholder"),
        ("Hello", "short", "characters"),
        ("Hello", "Hi Ada,\n\nReply-To: x\n" + "x" * 80, "header-like"),
        ("Hello", "Hi Ada,\n\nmail dana.other@example.com " + "x" * 80, "other than the sender's"),
    ],
)
def test_draft_checks(subject: str, body: str, problem: str | None) -> None:
    allowed = ["https://github.com/ada", "https://github.com/lumenlabs/tensorforge", "https://www.example.com"]
    found = draft_problem(subject, body, SENDER, allowed)
    assert (found is None) if problem is None else (found is not None and problem in found), found
