"""What a draft may say about a lead: facts found on GitHub, shaped for a template or for a model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cmo_agent.core.errors import quoted
from cmo_agent.core.records import Lead, Profile, Repo
from cmo_agent.core.text import one_line
from cmo_agent.drafting.checks import fact_problem

GITHUB_WEB = "https://github.com"


def ranked_repos(lead: Lead) -> list[str]:
    """The lead's repositories, most contributed to first."""
    return sorted(lead["repos"], key=lambda name: (-lead["repos"][name], name))


def first_name(lead: Lead) -> str:
    """The first word of the profile name when it looks like a name, else empty."""
    name = (lead.get("profile", Profile()).get("name") or "").strip()
    first = name.split()[0] if name else ""
    return first if re.fullmatch(r"[^\W\d_][^\W\d_'’.-]*", first) else ""


def default_pitch(topic_phrase: str) -> str:
    return (
        f"We are building tools for people who work on {topic_phrase}, and a few minutes of your view "
        "would help us get them right."
    )


def template_facts(
    lead: Lead, repos: Mapping[str, Repo], query: str, sender_name: str, pitch: str | None
) -> dict[str, Any]:
    """Variables for the email templates: GitHub facts only, never free text from the profile.

    Every fact from GitHub passes the checks a model's draft passes (`fact_problem`); one that
    fails is left out (`omitted_facts` says which and why), and a repository name that reads as a
    link is written as its GitHub page (and as "GitHub" in the subject).
    """
    ranked = ranked_repos(lead)
    allowed = lead_pages(lead)
    omitted: dict[str, str] = {}

    def checked(name: str, text: str) -> str:
        text = one_line(text).strip()
        if text and (problem := fact_problem(text, allowed)):
            omitted[name] = problem
            return ""
        return text

    top = repos.get(ranked[0], Repo(full_name=ranked[0]))
    full_name = str(top.get("full_name", ranked[0]))
    short_name = full_name.split("/")[1]
    name_is_safe = fact_problem(full_name, allowed) is None and fact_problem(short_name, allowed) is None
    if not name_is_safe:
        omitted["repo_name"] = f"reads as a link: {quoted(full_name, 60)}; written as its GitHub page"
    first_sentence = re.split(r"(?<=[.!?])\s", one_line(top.get("description") or "").strip())[0].rstrip(".")
    description = checked("repo_description", first_sentence[:1].lower() + first_sentence[1:120])
    others = [checked("other_repos", n.split("/")[1]) for n in ranked[1:3]]
    topics = re.findall(r"topic:(\S+)", query) or list(top.get("topics", []))[:1]
    topic_phrase = checked("topic_phrase", topics[0].replace("-", " ")) if topics else ""
    return {
        "greeting_name": first_name(lead) or "there",
        "repo_full_name": full_name if name_is_safe else f"github.com/{full_name}",
        "repo_name": short_name if name_is_safe else f"github.com/{full_name}",
        "subject_repo_name": short_name if name_is_safe else "GitHub",
        "repo_description": description,
        "contributions": lead["repos"][ranked[0]],
        "other_repos": " and ".join(name for name in others if name),
        "topic_phrase": topic_phrase or "open-source",
        "language": checked("language", str(top.get("language") or "")) or "open-source",
        "pitch": pitch or default_pitch(topic_phrase or "open-source"),
        "sender_name": sender_name,
        "omitted_facts": omitted,
    }


def lead_pages(lead: Lead) -> list[str]:
    """The lead's own GitHub pages: the profile and each repository they contributed to."""
    return [f"{GITHUB_WEB}/{lead['login']}", *(f"{GITHUB_WEB}/{name}" for name in lead.get("repos", {}))]


def model_facts(lead: Lead, repos: Mapping[str, Repo], query: str) -> dict[str, Any]:
    """The lead as data for a model: GitHub facts plus the profile's own (untrusted) words."""
    profile = lead.get("profile", Profile())
    work = []
    for name in ranked_repos(lead)[:3]:
        repo = repos.get(name, Repo())
        work.append(
            {
                "repository": name,
                "url": f"{GITHUB_WEB}/{name}",
                "description": repo.get("description") or "",
                "language": repo.get("language") or "",
                "topics": list(repo.get("topics", []))[:6],
                "their_commits": lead["repos"][name],
            }
        )
    return {
        "first_name": first_name(lead),
        "github_login": lead["login"],
        "github_profile_url": f"{GITHUB_WEB}/{lead['login']}",
        "bio": (profile.get("bio") or "")[:400],
        "company": (profile.get("company") or "")[:100],
        "location": (profile.get("location") or "")[:100],
        "their_work": work,
        "search": query,
    }


def allowed_links(facts: dict[str, Any], sender_website: str | None) -> list[str]:
    """The pages a model's draft may link to: the lead's GitHub pages in its facts, the sender's site."""
    links = [facts["github_profile_url"], *(item["url"] for item in facts["their_work"])]
    return links + ([sender_website] if sender_website else [])
