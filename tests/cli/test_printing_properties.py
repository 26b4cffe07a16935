"""The CLI prints untrusted text as text, as properties: on a colour terminal that supports hyperlinks,
markup-like text comes out character for character, and no escape sequence or link is ever emitted."""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from cmo_agent.cli import _console, _print_approval, _print_summary
from cmo_agent.core.text import one_line, terminal_text
from tests.strategies import hostile_text

# A terminal on which interpreted markup would show: colours, and OSC 8 hyperlinks.
_TERMINAL = {"TTY_COMPATIBLE": "1", "TERM": "xterm-256color", "COLORTERM": "truecolor", "COLUMNS": "100"}
_SGR = re.compile(r"\x1b\[[0-9;]*m")
markup_text = st.lists(
    st.one_of(
        hostile_text,
        st.sampled_from(["[/x]", "[link=http://evil.example]", "[/link]", "[bold]", "[red]", "[", "]", "\\", "\\["]),
    ),
    max_size=6,
).map("".join)


@contextlib.contextmanager
def _terminal() -> Iterator[io.StringIO]:
    """stdout captured, looking like a colour terminal to Rich."""
    buffer = io.StringIO()
    with mock.patch.dict(os.environ, _TERMINAL), contextlib.redirect_stdout(buffer):
        os.environ.pop("NO_COLOR", None)
        yield buffer


def _visible(text: str) -> str:
    """What a reader sees, whitespace aside (Rich may wrap lines and expand tabs)."""
    return "".join(_SGR.sub("", text).split())


def _assert_printed_as_text(output: str, *texts: str) -> None:
    assert "\x1b]" not in output, "an OSC sequence (a hyperlink or a title) was emitted"
    assert not re.search(r"\x1b(?!\[[0-9;]*m)", output), "an escape sequence other than a colour was emitted"
    for text in texts:
        assert _visible(text) in _visible(output), text


@given(text=markup_text)
def test_untrusted_text_is_printed_character_for_character(text: str) -> None:
    with _terminal() as out:
        console = _console()
        assert console.is_terminal and console.color_system == "truecolor"
        console.print(terminal_text(text))
    _assert_printed_as_text(out.getvalue(), terminal_text(text))
    assert "\x1b" not in out.getvalue()
    assert _visible(out.getvalue()) == _visible(terminal_text(text))


def test_the_check_notices_interpreted_markup() -> None:
    """The oracle above can fail: a console with markup on emits a link and loses the brackets."""
    text = "[link=http://evil.example]click[/link] [bold]now[/bold]"
    with _terminal() as out:
        Console(markup=True).print(text)
    with pytest.raises(AssertionError):
        _assert_printed_as_text(out.getvalue(), text)


# Logins are GitHub's ([A-Za-z0-9-]) and addresses passed hygiene; subjects and bodies are any text.
logins = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,12}", fullmatch=True)
samples = st.lists(
    st.fixed_dictionaries(
        {"login": logins, "to": st.emails().map(str.lower), "subject": markup_text, "body": markup_text}
    ),
    max_size=3,
)


@settings(max_examples=60)
@given(job_id=st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True), drafts=st.integers(0, 10**6), shown=samples)
def test_the_approval_gate_prints_each_hostile_sample_on_its_two_lines(
    job_id: str, drafts: int, shown: list[dict[str, str]]
) -> None:
    with _terminal() as out:
        _print_approval(_console(), job_id, {"drafts": drafts, "samples": shown})
    output = out.getvalue()
    assert "\x1b" not in output
    # A header line, two lines per sample, the footer: nothing in a sample can add or remove a line.
    assert output.count("\n") == 2 + 2 * len(shown)
    assert f"[--reject LOGIN ...]   (drafts: cmo-agent export {job_id})" in output
    for sample in shown:
        _assert_printed_as_text(output, sample["login"], sample["to"], one_line(sample["subject"]))


@given(login=markup_text, to=st.emails().map(str.lower))
@example(login="\x1b]", to="ada@example.org")
def test_no_login_text_can_hide_the_recipient_at_the_approval_gate(login: str, to: str) -> None:
    sample = {"login": login, "to": to, "subject": "Your work", "body": "Hi"}
    with _terminal() as out:
        _print_approval(_console(), "job-1", {"drafts": 1, "samples": [sample]})
    _assert_printed_as_text(out.getvalue(), to)


@settings(max_examples=40)
@given(
    status=st.sampled_from(["failed", "paused", "awaiting_approval", "done"]),
    query=markup_text,
    error=markup_text,
    reason=markup_text,
    outbox=markup_text,
    fallback=markup_text,
    shown=samples,
)
def test_the_summary_prints_hostile_values_as_text(
    status: str, query: str, error: str, reason: str, outbox: str, fallback: str, shown: list[dict[str, str]]
) -> None:
    summary: dict[str, Any] = {
        "job_id": "job-1",
        "status": status,
        "error": f"boom {error}" if status == "failed" else None,
        "query": f"q {query}",
        "funnel": {"repos": 2, "drafted": 1},
        "counters": {"github_api_calls": 3, "drafted_by_model": 1, "model_fallbacks": 1},
        "errors": 0,
        "outbox": f"data/outbox/{outbox}",
        "llm": {
            "llm_calls": 1,
            "fallbacks": {fallback: 1},
            "llm_prompt_tokens": 10,
            "llm_completion_tokens": 5,
            "estimated_cost_usd": 0.01,
        },
        "reason": f"r {reason}",
        "approval": {"drafts": len(shown), "samples": shown},
        "delivery": {},
    }
    with _terminal() as out:
        _print_summary(summary)
    output = out.getvalue()
    _assert_printed_as_text(output, one_line(summary["query"]), terminal_text(summary["outbox"]))
    if status == "paused":
        _assert_printed_as_text(output, one_line(summary["reason"]))
    if status == "awaiting_approval":
        _assert_printed_as_text(output, *(one_line(sample["subject"]) for sample in shown))
