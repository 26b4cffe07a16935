"""The ideal customer profile a campaign scores leads against: derived from the goal, or given as a
TOML file (`run --icp FILE`) whose fields override the derived ones."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cmo_agent.core.errors import ConfigError
from cmo_agent.targeting.query import ACTIVE_WINDOW_DAYS

MAX_WEIGHT = 1_000_000
_GOAL_STOPWORDS = frozenset(["find", "active", "with", "that", "who", "the", "and", "for", "engineers", "people"])


class Weights(BaseModel):
    """Relative weight of each signal; a signal without words to match (say, no locations) is left out."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    topics: float = Field(30, ge=0, le=MAX_WEIGHT, description="Works on repositories with one of the topics.")
    languages: float = Field(15, ge=0, le=MAX_WEIGHT, description="Works on repositories in one of the languages.")
    contributions: float = Field(25, ge=0, le=MAX_WEIGHT, description="Contributions to the discovered repositories.")
    followers: float = Field(15, ge=0, le=MAX_WEIGHT, description="GitHub followers.")
    activity: float = Field(10, ge=0, le=MAX_WEIGHT, description="A repository of theirs was pushed to recently.")
    keywords: float = Field(5, ge=0, le=MAX_WEIGHT, description="Bio or company mentions one of the keywords.")
    location: float = Field(10, ge=0, le=MAX_WEIGHT, description="Profile location mentions one of the location words.")
    company: float = Field(10, ge=0, le=MAX_WEIGHT, description="Profile company mentions one of the company words.")


class IcpProfile(BaseModel):
    """What a good lead looks like. Word lists match case-insensitively; empty lists are not scored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    topics: list[str] = Field(default_factory=list, description="GitHub topics, e.g. machine-learning.")
    languages: list[str] = Field(default_factory=list, description="Repository languages, e.g. python.")
    keywords: list[str] = Field(default_factory=list, description="Words looked for in bio and company.")
    locations: list[str] = Field(default_factory=list, description="Words looked for in the profile location.")
    companies: list[str] = Field(default_factory=list, description="Words looked for in the profile company.")
    active_within_days: int = Field(ACTIVE_WINDOW_DAYS, ge=1, le=36_500, description="What counts as recent activity.")
    contributions_for_full_marks: int = Field(
        32, ge=1, le=1_000_000_000, description="Contributions that earn the whole weight."
    )
    followers_for_full_marks: int = Field(
        200, ge=1, le=1_000_000_000, description="Followers that earn the whole weight."
    )
    weights: Weights = Field(default_factory=Weights)

    @classmethod
    def from_goal(cls, query: str, goal: str) -> IcpProfile:
        """The profile a goal and its search query imply: their topics, languages and words."""
        topics = re.findall(r"topic:(\S+)", query.lower())
        languages = re.findall(r"language:(\S+)", query.lower())
        words = [w for w in re.findall(r"[a-z]{3,}", goal.lower()) if w not in _GOAL_STOPWORDS]
        return cls(topics=topics, languages=languages, keywords=[t.replace("-", " ") for t in topics] + words)

    def merged_over(self, base: IcpProfile) -> IcpProfile:
        """This profile with what it leaves unset taken from `base`."""
        return base.model_copy(update={name: getattr(self, name) for name in self.model_fields_set})


def load_icp_file(path: Path) -> dict[str, Any]:
    """The profile fields a TOML file sets (at the top level or under `[icp]`), validated.

    Raises ConfigError with one line saying what is wrong.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--icp: cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--icp: {path} is not valid TOML: {exc}") from exc
    data = data.get("icp", data)
    try:
        profile = IcpProfile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"--icp: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
    return profile.model_dump(include=profile.model_fields_set)


def profile_for(query: str, goal: str, given: dict[str, Any] | None) -> IcpProfile:
    """The campaign's profile: `given` fields (from `--icp`) over what the goal implies."""
    derived = IcpProfile.from_goal(query, goal)
    return IcpProfile.model_validate(given).merged_over(derived) if given else derived
