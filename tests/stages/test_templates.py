"""Template drafts: filled from the lead's GitHub facts, and refused whole when a fact is missing."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import UndefinedError

from cmo_agent.core.records import Hygiene, Lead, Profile, Repo
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.drafting import facts as facts_module
from cmo_agent.drafting.facts import template_facts
from cmo_agent.drafting.template_draft import TEMPLATE_VERSION, draft_from_template
from cmo_agent.stages import personalize as personalize_module
from cmo_agent.stages.personalize import personalize

REPOS = {
    "lumenlabs/tensorforge": Repo(
        full_name="lumenlabs/tensorforge",
        description="Composable training loops for PyTorch. Fast.",
        topics=["machine-learning"],
        language="Python",
    )
}


def _lead(login: str, name: str | None, commits: int) -> Lead:
    return Lead(
        login=login,
        status="enriched",
        profile=Profile(name=name),
        repos={"lumenlabs/tensorforge": commits},
        contributions=commits,
        address=f"{login}@example.org",
        hygiene=Hygiene(ok=True, reason=None),
        score=80,
        qualified=True,
    )


def _state(*leads: Lead) -> RunState:
    state = new_run_state("tpl", "Find active ML engineers")
    return state | RunState(leads={lead["login"]: lead for lead in leads}, repos=REPOS, query="topic:machine-learning")


@pytest.mark.parametrize(
    ("name", "commits", "greeting", "phrase"),
    [
        ("Ada Lovelace", 28, "Hi Ada,", "Your 28 commits there"),
        (None, 3, "Hi there,", "I saw your 3 commits there"),
        ("1337 h4x0r", 1, "Hi there,", "I saw your commit there"),
    ],
)
def test_a_template_draft_reads_like_a_person_wrote_it(
    name: str | None, commits: int, greeting: str, phrase: str
) -> None:
    facts = template_facts(_lead("ada", name, commits), REPOS, "topic:machine-learning", "Dana Reyes", None)
    subject, body = draft_from_template(facts)
    assert subject == "Your work on tensorforge"
    assert body.startswith(greeting + "\n") and phrase in body and body.rstrip().endswith("Dana Reyes")
    assert "(composable training loops for PyTorch)" in body and "{" not in body


def test_a_missing_fact_is_refused_not_left_blank() -> None:
    facts = template_facts(_lead("ada", "Ada", 5), REPOS, "", "Dana", "We build things.")
    del facts["pitch"]
    with pytest.raises(UndefinedError, match="pitch"):
        draft_from_template(facts)


def test_the_stage_rejects_that_draft_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def without_pitch(*args: Any) -> dict[str, Any]:
        facts = facts_module.template_facts(*args)
        return {k: v for k, v in facts.items() if k != "pitch" or args[0]["login"] != "bob"}

    monkeypatch.setattr(personalize_module, "template_facts", without_pitch)
    update = personalize(_state(_lead("ada", "Ada", 5), _lead("bob", "Bob", 7)), None)  # type: ignore[arg-type]
    assert list(update["to_send"]) == ["ada"] and update["to_send"]["ada"]["prompt_version"] == TEMPLATE_VERSION
    assert (
        update["leads"]["bob"]["draft_error"].startswith("UndefinedError")
        and "pitch" in update["leads"]["bob"]["draft_error"]
    )
    assert update["counters"]["drafts_rejected"] == 1
