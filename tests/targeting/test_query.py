"""Goal → GitHub search query."""

from __future__ import annotations

from datetime import date

from cmo_agent.targeting.query import query_from_goal


def test_ml_goal_becomes_topic_and_recent_push_window() -> None:
    query = query_from_goal("Find active ML engineers", today=date(2026, 11, 27))
    assert query == "topic:machine-learning pushed:>2026-08-29 archived:false"


def test_language_is_taken_from_the_goal() -> None:
    query = query_from_goal("Rust developers working on LLM inference", today=date(2026, 11, 27))
    assert "topic:llm" in query and "language:rust" in query


def test_goal_without_known_topic_searches_its_words() -> None:
    assert query_from_goal("static site generators").startswith("static site generators")
