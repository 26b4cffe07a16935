"""Untrusted text made safe, as properties: nothing that drives a terminal survives, the result is
stable under a second pass, and text with nothing to remove is left exactly as it was."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from cmo_agent.core.text import one_line, strip_controls, terminal_text
from tests.strategies import BIDI_OVERRIDES, LINE_SEPARATORS, UNSAFE_FOR_TERMINAL, hostile_text

# Printable text (markup-like fragments included) in which there is nothing to strip.
printable = st.text(
    alphabet="abcXYZ019 .,:;@<>[]()/\\=?_-'\"\u00e4\u00df\u4f60\U0001f600\u0301\u200b\u00a0", max_size=40
)


def _is_subsequence(short: str, long: str) -> bool:
    remaining = iter(long)
    return all(char in remaining for char in short)


@given(text=hostile_text)
def test_stripped_text_has_no_control_escape_or_bidi_override(text: str) -> None:
    stripped = strip_controls(text)
    assert not UNSAFE_FOR_TERMINAL.search(stripped)
    assert "\x1b" not in stripped and "\r" not in stripped


@given(text=hostile_text)
def test_stripping_only_removes_characters(text: str) -> None:
    """Carriage returns become line feeds first (so no line is overwritten); otherwise nothing is added."""
    stripped = strip_controls(text)
    assert _is_subsequence(stripped, text.replace("\r\n", "\n").replace("\r", "\n"))


@given(text=hostile_text)
def test_stripping_twice_is_stripping_once(text: str) -> None:
    once = strip_controls(text)
    assert strip_controls(once) == once
    assert one_line(one_line(text)) == one_line(text)


@given(text=printable, newlines=st.lists(st.sampled_from(["\n", "\t"]), max_size=3))
def test_text_with_nothing_to_strip_is_left_as_it_is(text: str, newlines: list[str]) -> None:
    kept = text + "".join(newlines)
    assert strip_controls(kept) == kept
    assert one_line(text) == text
    assert terminal_text(kept) == kept


@given(text=hostile_text)
def test_one_line_has_no_line_break_of_any_kind(text: str) -> None:
    line = one_line(text)
    assert not UNSAFE_FOR_TERMINAL.search(line)  # tab is allowed: it breaks no line
    assert len(line.splitlines()) <= 1
    assert not set(line) & set(LINE_SEPARATORS + BIDI_OVERRIDES + "\n\r\x0b\x0c\x1c\x1d\x1e")


@given(
    lines=st.lists(printable, min_size=1, max_size=4),
    breaks=st.lists(st.sampled_from(["\n", "\r", "\r\n", "\n\n", *LINE_SEPARATORS]), min_size=3, max_size=3),
)
def test_one_line_turns_line_breaks_into_spaces(lines: list[str], breaks: list[str]) -> None:
    """Words on either side of a break stay apart: a break becomes a space, it is not deleted."""
    text = "".join(line + breaks[i % len(breaks)] for i, line in enumerate(lines))
    assert one_line(text).split() == " ".join(lines).split()


@given(value=st.one_of(hostile_text, st.integers(), st.lists(hostile_text, max_size=3)))
def test_terminal_text_of_any_value_is_safe(value: object) -> None:
    shown = terminal_text(value)
    assert not UNSAFE_FOR_TERMINAL.search(shown)
    assert shown == strip_controls(str(value))


_csi = st.builds(
    "\x1b[{}{}{}".format,
    st.text(alphabet="0123456789;:<=>?", max_size=6),
    st.text(alphabet=" !\"#$%&'()*+,-./", max_size=2),
    st.sampled_from("@ABCDHJKmhlsu~"),
)
_osc = st.builds(
    "\x1b]{}{}".format,
    st.text(alphabet="0128;:/.abcxyz=?&%[]\\ ", max_size=30),
    st.sampled_from(["\x07", "\x1b\\"]),
)
escape_sequences = st.one_of(_csi, _osc, st.sampled_from(["\x1bM", "\x1bD", "\x1bE", "\x1bH", "\x1b\\"]))


@given(before=printable, sequence=escape_sequences, after=printable)
def test_an_escape_sequence_is_removed_whole(before: str, sequence: str, after: str) -> None:
    """Not just its ESC: the parameters and the payload of a link or title go too."""
    assert strip_controls(before + sequence + after) == before + after
    assert one_line(before + sequence + after) == before + after


@given(before=printable, final=st.sampled_from("0123456789:;<=>?`abcdefghijklmnopqrstuvwxyz{|}~"), after=printable)
@example(before="", final="c", after="")
def test_a_two_character_escape_is_removed_whole(before: str, final: str, after: str) -> None:
    assert strip_controls(before + "\x1b" + final + after) == before + after
