"""Goal → GitHub search query, by rules that always work offline."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

# Phrases of a goal that name a GitHub topic; the first one found becomes `topic:` (GitHub ANDs topics).
_TOPICS = [
    (r"\bmachine[- ]learning\b|\bml\b", "machine-learning"),
    (r"\bdeep[- ]learning\b", "deep-learning"),
    (r"\bllms?\b|\blarge language models?\b", "llm"),
    (r"\bnlp\b|\bnatural language\b", "nlp"),
    (r"\bcomputer vision\b|\bvision\b", "computer-vision"),
    (r"\bmlops\b", "mlops"),
    (r"\bdata science\b|\bdata scientists?\b", "data-science"),
    (r"\bpytorch\b", "pytorch"),
    (r"\bjax\b", "jax"),
    (r"\btransformers?\b", "transformers"),
    (r"\breinforcement learning\b|\brl\b", "reinforcement-learning"),
]
_LANGUAGES = ["python", "rust", "go", "typescript", "javascript", "java", "c++", "julia", "scala", "kotlin", "swift"]
_ACTIVE = re.compile(r"\b(active|actively|recent|recently|maintain(?:ed|ing|ers?)?)\b")
_STOPWORDS = set(
    [
        "find",
        "a",
        "an",
        "the",
        "of",
        "for",
        "and",
        "or",
        "with",
        "who",
        "that",
        "in",
        "on",
        "to",
        "engineers",
        "engineer",
        "developers",
        "developer",
        "people",
        "maintainers",
        "maintainer",
        "contributors",
        "libraries",
        "library",
        "projects",
        "project",
        "repos",
        "repositories",
        "active",
        "actively",
        "recent",
        "recently",
        "maintaining",
        "maintained",
    ]
)
ACTIVE_WINDOW_DAYS = 90


def query_from_goal(goal: str, today: date | None = None) -> str:
    """A GitHub repository search query for a plain-language goal."""
    text = goal.lower()
    parts: list[str] = []
    topic = next((name for pattern, name in _TOPICS if re.search(pattern, text)), None)
    if topic:
        parts.append(f"topic:{topic}")
    for language in _LANGUAGES:
        if re.search(rf"(?<![\w+]){re.escape(language)}(?![\w+])", text):
            parts.append(f"language:{language}")
            break
    if topic is None:
        words = [w for w in re.findall(r"[a-z0-9][a-z0-9+#.-]*", text) if w not in _STOPWORDS]
        parts.extend(words[:4])
    if _ACTIVE.search(text):
        since = (today or datetime.now(UTC).date()) - timedelta(days=ACTIVE_WINDOW_DAYS)
        parts.append(f"pushed:>{since.isoformat()}")
    parts.append("archived:false")
    return " ".join(parts)
