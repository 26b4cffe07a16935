"""Suppression entries as properties: normalizing is idempotent and lowercases, case never matters, and
an entry matches the address hygiene keeps for the same person (the way `suppressed()` looks it up)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cmo_agent.core.suppression import normalize_entry
from cmo_agent.stages.hygiene import check_address

# Letters whose case mapping is tricky (dotted I, final sigma, a titlecase digraph, Kelvin and Angstrom signs).
_LOCAL = ["a", "B", "x.y", "+tag", "_", "\u00df", "\u0130", "\u03a3", "\u03c2", "\u01c5", "\u212a", "\u212b", "\u00c4"]
_DOMAINS = [
    "example.org",
    "EXAMPLE.ORG",
    "ex\u00e4mple.org",
    "EX\u00c4MPLE.org",
    "xn--exmple-cua.org",
    "stra\u00dfe.de",
]
unicode_addresses = st.tuples(
    st.lists(st.sampled_from(_LOCAL), min_size=1, max_size=4).map("".join), st.sampled_from(_DOMAINS)
).map("@".join)
entries = st.one_of(
    st.emails(),
    unicode_addresses,
    st.sampled_from(_DOMAINS).map(lambda domain: "@" + domain),
    st.emails().map(lambda address: "@" + address.rpartition("@")[2]),
).flatmap(lambda entry: st.sampled_from([entry, f"  {entry}", f"{entry}\t", entry.upper()]))


def _accepted(entry: str) -> str:
    try:
        return normalize_entry(entry)
    except ValueError:
        assume(False)
        raise


@given(entry=entries)
def test_an_entry_is_lowercase_and_normalizing_it_again_changes_nothing(entry: str) -> None:
    normalized = _accepted(entry)
    assert normalized == normalized.lower() == normalized.strip()
    assert normalize_entry(normalized) == normalized
    assert normalized.startswith("@") == entry.strip().startswith("@")


@given(entry=entries.filter(str.isascii))
def test_case_never_matters_for_an_ascii_entry(entry: str) -> None:
    normalized = _accepted(entry)
    assert normalize_entry(entry.upper()) == normalize_entry(entry.lower()) == normalized


@given(address=st.one_of(st.emails(), unicode_addresses))
def test_an_entry_matches_the_address_hygiene_keeps_for_the_same_person(address: str) -> None:
    """`suppressed()` compares the kept address lowercased, and its `@domain`: both must equal the entries."""
    kept = check_address(address)[0]
    assume(kept is not None)
    lowered = str(kept).lower()
    assert normalize_entry(address) == lowered
    assert normalize_entry("@" + address.rpartition("@")[2]) == "@" + lowered.rpartition("@")[2]


@pytest.mark.parametrize("text", ["", "@", "a", "a@", "@a@b.org", "a b@example.org", "a@example..org", "<a@b.org>"])
def test_what_is_neither_an_address_nor_a_domain_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not an? "):
        normalize_entry(text)
