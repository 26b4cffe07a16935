"""The model failing while it writes drafts, in the ways tests/stages/test_personalize.py and
tests/test_query_llm.py leave out: each draft is retried or falls back to the template, with its reason."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.runner import RunOutcome, start_campaign
from tests.faults.conftest import GOAL, WORLD, world_settings
from tests.loopback.openai_server import Fault, OpenAIStandIn
from tests.stages.test_personalize import honest

pytestmark = pytest.mark.e2e

KEY = "sk-test-faults"
DRAFTS = 4


@pytest.fixture
def model() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn(honest, api_key=KEY) as stand_in:
        yield stand_in


def _settings(tmp_path: Path, github: GitHubStandIn, model: OpenAIStandIn, **extra: Any) -> Settings:
    # One request in flight, so the order of answers is the order of the leads.
    return world_settings(
        tmp_path,
        github,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=model.url,
        CMO_LLM_MAX_RETRIES=1,
        CMO_LLM_WORKERS=1,
        **extra,
    )


def _drafts(tmp_path: Path, github: GitHubStandIn, model: OpenAIStandIn, **params: Any) -> RunOutcome:
    """A campaign whose query is given, so that every model request is for a draft."""
    outcome = start_campaign(_settings(tmp_path, github, model), GOAL, WORLD | {"max_leads": DRAFTS, **params})
    assert outcome.status == "done", outcome.error
    return outcome


def _reasons(state: RunState) -> list[str | None]:
    """Why each draft fell back (None for the model's own), the same on the lead as on the draft."""
    drafts = state["to_send"]
    for login, draft in drafts.items():
        assert state["leads"][login]["personalization"]["fallback_reason"] == draft.get("fallback_reason")
    return sorted((draft.get("fallback_reason") for draft in drafts.values()), key=lambda r: (r is None, r or ""))


def _assert_counted(state: RunState, model: OpenAIStandIn) -> None:
    counters, usage = state["counters"], model.usage_totals()
    assert counters["llm_calls"] == len(model.requests)
    assert counters["llm_prompt_tokens"] == usage["prompt_tokens"]
    assert counters["llm_completion_tokens"] == usage["completion_tokens"]


def test_a_rate_limited_draft_is_retried_and_written_by_the_model(
    tmp_path: Path, github: GitHubStandIn, model: OpenAIStandIn
) -> None:
    model.faults.append(Fault(429, times=1, headers={"retry-after": "0"}))
    state = _drafts(tmp_path, github, model).state
    assert [r.status for r in model.requests] == [429] + [200] * DRAFTS
    assert [d["generator"] for d in state["to_send"].values()] == ["llm"] * DRAFTS
    _assert_counted(state, model)


def test_a_draft_whose_retries_are_spent_falls_back_and_the_others_are_written(
    tmp_path: Path, github: GitHubStandIn, model: OpenAIStandIn
) -> None:
    model.faults.append(Fault(500, times=2))
    state = _drafts(tmp_path, github, model).state
    assert [r.status for r in model.requests] == [500, 500] + [200] * (DRAFTS - 1), "one retry, then the next lead"
    assert _reasons(state) == ["model unavailable: the LLM endpoint answered HTTP 500"] + [None] * (DRAFTS - 1)
    assert sorted(d["generator"] for d in state["to_send"].values()) == ["llm"] * (DRAFTS - 1) + ["template"]
    assert state["reports"]["summary"]["llm"]["fallbacks"] == {"model unavailable": 1}
    _assert_counted(state, model)


@pytest.mark.parametrize("structured", [True, False], ids=["structured-output", "json-mode"])
def test_garbled_drafts_fall_back_to_the_template_with_the_reason(
    tmp_path: Path, github: GitHubStandIn, model: OpenAIStandIn, structured: bool
) -> None:
    garbage = iter(
        [
            "Sure! Here is a short email for this maintainer: Hi there, ...",
            '{"subject": "Your work on evalkit", "body": "Hi Chen,\\n\\nYour commits to',
            json.dumps({"title": "Your work on evalkit", "text": "Hi Chen, ..."}),
        ]
    )
    answers = itertools.count()
    model.responder = lambda request: next(garbage) if next(answers) < 3 else honest(request)
    outcome = start_campaign(
        _settings(tmp_path, github, model, CMO_LLM_STRUCTURED_OUTPUT=structured),
        GOAL,
        WORLD | {"max_leads": DRAFTS},
    )
    assert outcome.status == "done", outcome.error
    state = outcome.state
    unusable = "model answer unusable: the answer does not fit EmailDraft: "
    assert _reasons(state) == [
        f"{unusable}answer: json_invalid",
        f"{unusable}answer: json_invalid",
        f"{unusable}subject: missing",
        None,
    ]
    assert len(model.requests) == DRAFTS, "an answer that came back is not asked for again"
    assert state["reports"]["summary"]["llm"]["fallbacks"] == {"model answer unusable": 3}
    _assert_counted(state, model)


GARBLED_HTTP = {
    "html-page": b"<html><body>502 Bad Gateway</body></html>",
    "cut-off-completion": b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "mess',
    "completion-without-choices": b'{"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m"}',
}


@pytest.mark.parametrize("case", list(GARBLED_HTTP))
def test_a_garbled_http_answer_falls_back_to_the_template(
    tmp_path: Path, github: GitHubStandIn, model: OpenAIStandIn, case: str
) -> None:
    model.faults.append(Fault(200, raw=GARBLED_HTTP[case]))
    state = _drafts(tmp_path, github, model).state
    reasons = _reasons(state)
    assert reasons[0] is not None and reasons[0].startswith("model answer unusable: ")
    assert reasons[1:] == [None] * (DRAFTS - 1)
    _assert_counted(state, model)


def test_a_garbled_http_answer_to_the_goal_falls_back_to_the_rules(
    tmp_path: Path, github: GitHubStandIn, model: OpenAIStandIn
) -> None:
    model.faults.append(Fault(200, raw=GARBLED_HTTP["html-page"]))
    outcome = start_campaign(_settings(tmp_path, github, model), "Find benchmark maintainers", {"max_repos": 1})
    assert outcome.status == "done", outcome.error
    assert outcome.state["reports"]["discovery"]["query_source"] == "rules"
