"""Goal → GitHub search query by the model, checked against GitHub's search rules, with the rules as fallback.

Model output is untrusted: a query is used only once `validate_query` accepts it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from string import Template
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cmo_agent.adapters.llm import LLMClient, LLMError, LLMUnavailable, llm_client_from
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import Rejected, quoted
from cmo_agent.resources import resource_path
from cmo_agent.targeting.query import ACTIVE_WINDOW_DAYS, query_from_goal

__all__ = [
    "PROMPT_VERSION",
    "InvalidQuery",
    "QueryAnswer",
    "QueryChoice",
    "goal_message",
    "llm_query_from_goal",
    "translate_goal",
    "validate_query",
]

PROMPT_VERSION = "translate_v1"
MAX_QUERY_LENGTH = 256
MAX_OPERATORS = 5


class InvalidQuery(Rejected):
    """A search query GitHub would reject or that the pipeline must not run; `reason` says why."""


class QueryAnswer(BaseModel):
    """What the model is asked for (sent as a strict JSON schema)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(description="The GitHub repository search query, on one line.")
    rationale: str = Field(description="One sentence on how the query reflects the goal.")


@dataclass(frozen=True)
class QueryChoice:
    """The query discovery will run, where it came from, why the model's was not used, and LLM usage."""

    query: str
    source: Literal["given", "llm", "rules"]
    note: str | None
    counters: dict[str, int]


# --- validation --------------------------------------------------------------------------------

_NUMBER = r"\d+"
_DATE = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?"


def _comparison(term: str) -> re.Pattern[str]:
    """`term`, `>term`, `>=term`, `<term`, `<=term`, `term..term`, `term..*` or `*..term`."""
    return re.compile(rf"(?:[<>]=?)?{term}|{term}\.\.(?:{term}|\*)|\*\.\.{term}")


_NUMERIC = _comparison(_NUMBER)
_DATES = _comparison(_DATE)
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_VALUE_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "in": (re.compile(r"(?:name|description|topics|readme)(?:,(?:name|description|topics|readme))*"), "name,readme"),
    "user": (_LOGIN, "a login"),
    "org": (_LOGIN, "a login"),
    "repo": (re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}"), "owner/name"),
    "size": (_NUMERIC, "a number or range"),
    "followers": (_NUMERIC, "a number or range"),
    "forks": (_NUMERIC, "a number or range"),
    "stars": (_NUMERIC, "a number or range"),
    "topics": (_NUMERIC, "a number or range"),
    "good-first-issues": (_NUMERIC, "a number or range"),
    "help-wanted-issues": (_NUMERIC, "a number or range"),
    "created": (_DATES, "a YYYY-MM-DD date or range"),
    "pushed": (_DATES, "a YYYY-MM-DD date or range"),
    "language": (re.compile(r"[A-Za-z0-9+#.-]+"), "a language name"),
    "topic": (re.compile(r"[a-z0-9][a-z0-9-]{0,49}"), "a lowercase topic"),
    "license": (re.compile(r"[a-z0-9][a-z0-9.-]*"), "a license keyword"),
    "is": (re.compile(r"public|private|internal|sponsorable"), "public, private, internal or sponsorable"),
    "has": (re.compile(r"funding-file"), "funding-file"),
    "archived": (re.compile(r"true|false"), "true or false"),
    "mirror": (re.compile(r"true|false"), "true or false"),
    "template": (re.compile(r"true|false"), "true or false"),
    "fork": (re.compile(r"true|false|only"), "true, false or only"),
}
_NOT_QUALIFIERS = {
    "sort": "sort is a request parameter, not a search qualifier",
    "order": "order is a request parameter, not a search qualifier",
}
_TOKEN = re.compile(r'(?:[^\s"]+|"[^"]*")+')
_QUALIFIER = re.compile(r"(-?)([A-Za-z][A-Za-z-]*):(.*)", re.DOTALL)
_OPERATORS = {"AND", "OR", "NOT"}


def validate_query(query: str) -> str:
    """`query` normalized (single spaces, `archived:false` ensured) if GitHub's repository search accepts it.

    Raises InvalidQuery naming the first problem found.
    """
    for char in query:
        if unicodedata.category(char).startswith("C"):
            raise InvalidQuery(f"control character {char!r} in query")
    if query.count('"') % 2:
        raise InvalidQuery("unbalanced quotes")
    tokens = _TOKEN.findall(query)
    if not tokens:
        raise InvalidQuery("empty query")
    operators = [i for i, token in enumerate(tokens) if token in _OPERATORS]
    if len(operators) > MAX_OPERATORS:
        raise InvalidQuery(f"{len(operators)} AND/OR/NOT operators (GitHub allows {MAX_OPERATORS})")
    for i in operators:
        dangling = i == len(tokens) - 1 or (tokens[i] != "NOT" and (i == 0 or tokens[i - 1] in _OPERATORS))
        if dangling:
            raise InvalidQuery(f"operator {tokens[i]} has nothing to combine")
    has_archived = False
    for token in tokens:
        match = _QUALIFIER.fullmatch(token)
        if match is None:
            continue
        negated, key, value = match.group(1) == "-", match.group(2).lower(), match.group(3)
        _check_qualifier(key, value)
        if key == "archived" or (key == "is" and value == "archived"):
            if negated or value != "false":
                raise InvalidQuery("archived repositories must stay excluded (archived:false)")
            has_archived = True
    normalized = " ".join(tokens)
    if len(normalized) > MAX_QUERY_LENGTH:
        raise InvalidQuery(f"{len(normalized)} characters (GitHub allows {MAX_QUERY_LENGTH})")
    if not has_archived:
        normalized += " archived:false"
        if len(normalized) > MAX_QUERY_LENGTH:
            raise InvalidQuery(f"no room for archived:false within {MAX_QUERY_LENGTH} characters")
    return normalized


def _check_qualifier(key: str, value: str) -> None:
    if key in _NOT_QUALIFIERS:
        raise InvalidQuery(_NOT_QUALIFIERS[key])
    if key == "is" and value == "archived":
        return
    shape = _VALUE_SHAPES.get(key)
    if shape is None:
        raise InvalidQuery(f"unknown qualifier {quoted(key, 40)}")
    pattern, expected = shape
    if not pattern.fullmatch(value.removeprefix('"').removesuffix('"')):
        raise InvalidQuery(f"{key}:{quoted(value, 40)} is not {expected}")
    if key in ("created", "pushed"):
        for day in re.findall(r"\d{4}-\d{2}-\d{2}", value):
            try:
                date.fromisoformat(day)
            except ValueError:
                raise InvalidQuery(f"{key}:{quoted(value, 40)} is not a real date") from None


# --- translation -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _prompt_template() -> Template:
    path = resource_path(f"prompts/query/{PROMPT_VERSION}.md")
    return Template(path.read_text(encoding="utf-8"))


def goal_message(goal: str) -> str:
    """The user message: the goal as data between delimiters it cannot close (`<`, `>`, `&` escaped)."""
    return f"<goal>\n{html.escape(goal.strip(), quote=False)}\n</goal>"


def llm_query_from_goal(goal: str, client: LLMClient, today: date) -> str:
    """The model's search query for `goal`, validated. Raises InvalidQuery or LLMError."""
    active_since = today - timedelta(days=ACTIVE_WINDOW_DAYS)
    system = _prompt_template().substitute(today=today.isoformat(), active_since=active_since.isoformat())
    answer = client.structured(system, goal_message(goal), QueryAnswer)
    return validate_query(answer.query)


def translate_goal(goal: str, settings: Settings, today: date | None = None) -> QueryChoice:
    """The search query for `goal`: the model's when configured and valid, otherwise the rules'."""
    day = today or datetime.now(UTC).date()
    client = llm_client_from(settings)
    if client is None:
        return QueryChoice(query_from_goal(goal, day), "rules", None, {})
    with client:
        try:
            return QueryChoice(llm_query_from_goal(goal, client, day), "llm", None, client.counters())
        except InvalidQuery as exc:
            note = f"llm query rejected: {exc.reason}"
        except LLMUnavailable as exc:
            note = f"llm unavailable: {exc}"
        except LLMError as exc:
            note = f"llm answer unusable: {exc}"
        return QueryChoice(query_from_goal(goal, day), "rules", note, client.counters())
