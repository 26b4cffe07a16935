"""SQL written with `?` placeholders runs on PostgreSQL without a literal or comment being rewritten."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmo_agent.core.database import open_database, pyformat_sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT ? FROM t WHERE a = ?", "SELECT %s FROM t WHERE a = %s"),
        ("SELECT '?', ? -- why?", "SELECT '?', %s -- why?"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', %s"),
        ('SELECT "col?" FROM t /* ? */ WHERE x = ?', 'SELECT "col?" FROM t /* ? */ WHERE x = %s'),
        ("SELECT 10 % 3, '100%', ?", "SELECT 10 %% 3, '100%%', %s"),
    ],
)
def test_only_placeholders_become_pyformat_and_percent_signs_are_escaped(sql: str, expected: str) -> None:
    assert pyformat_sql(sql) == expected


@given(st.text(alphabet=st.sampled_from("ab ?%'\"-/*\n"), max_size=40))
def test_the_rewrite_changes_only_placeholders_and_percent_signs(sql: str) -> None:
    out = pyformat_sql(sql)
    # Undo the two rewrites: what is left is the input, so nothing else moved.
    assert out.replace("%s", "?").replace("%%", "%") == sql.replace("%s", "?")


@pytest.mark.e2e
@pytest.mark.e2e
def test_literals_with_question_marks_and_percent_signs_survive_on_postgresql(postgres_url: str) -> None:
    with open_database(postgres_url) as db:
        rows = db.execute("SELECT 'why?', '100%', ? /* and ? here */, ? -- ?", ["a", 2])
    assert rows == [("why?", "100%", "a", 2)]
