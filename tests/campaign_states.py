"""RunStates of a campaign that reached delivery, built in process for tests of the stages after it."""

from __future__ import annotations

from cmo_agent.core.records import Draft, Hygiene, Lead, Repo, RunParams
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.mail.message import message_id_for


def ready_lead(login: str, repo: str) -> Lead:
    """A lead enriched, with an address that passed hygiene, and qualified."""
    lead = Lead(login=login, repos={repo: 5}, contributions=5, status="enriched", email=f"{login}@example.org")
    lead |= {"email_source": "profile", "address": f"{login}@example.org", "hygiene": Hygiene(ok=True, reason=None)}
    lead |= {"score": 80, "qualified": True, "profile": {"name": login.title() + " Lovelace"}}
    return lead


def drafted_campaign(
    job_id: str, sender: str, repo: str, leads: dict[str, Lead], params: RunParams, draft: Draft
) -> RunState:
    """A campaign with one first email per lead (`draft` gives its status and more)."""
    drafts = {
        login: Draft(
            login=login,
            to=f"{login}@example.org",
            subject="Your work on tensorforge",
            body="Hi,\n\nfirst message\n",
            message_id=message_id_for(job_id, login, sender),
        )
        | draft
        for login in leads
    }
    return new_run_state(job_id, "Find active ML engineers", params) | RunState(
        query="topic:machine-learning",
        repos={repo: Repo(full_name=repo, description="A tensor compiler", language="Python")},
        leads=leads,
        to_send=drafts,
    )
