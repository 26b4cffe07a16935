"""Run options (`RunState.params`): checked before a job is created, stored as a plain dict.

Everything a run will use is validated here, so a value that passes can never fail mid-run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cmo_agent.core.errors import ConfigError
from cmo_agent.core.records import RunParams
from cmo_agent.core.text import is_valid_utf8

MAX_QUERY_LENGTH = 256
"""GitHub's limit on a search query's length."""
MAX_QUERY_OPERATORS = 5
"""GitHub's limit on AND/OR/NOT operators in a search query."""
MAX_FOLLOW_UPS = 5
DEFAULT_FOLLOW_UP_AFTER = "3d"
_DURATION = re.compile(r"([0-9]{1,6})([dhms])")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def duration_seconds(text: str) -> int:
    """`3d`, `12h`, `90m` or `20s` in seconds; ValueError for anything else (or zero)."""
    found = _DURATION.fullmatch(text.strip())
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"expected a duration like 3d, 12h, 90m or 20s, got {text!r}")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


class ParamsSchema(BaseModel):
    """The options of one run, as validated; `validate_params` returns them as a `RunParams` record."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    query: str | None = Field(None, description="GitHub search query used as is (checked for GitHub's limits).")
    max_repos: int | None = Field(None, ge=1, le=1000, description="Repositories to take.")
    max_leads: int | None = Field(None, ge=1, le=1_000_000, description="Drafts to write at most.")
    min_score: int | None = Field(None, ge=0, le=100, description="ICP threshold; 0 keeps everyone.")
    email_sources: list[Literal["profile", "commit"]] | None = Field(None, min_length=1)
    icp: dict[str, Any] | None = Field(None, description="ICP fields over the goal's (validated by IcpProfile).")
    deliver: Literal["outbox", "smtp"] | None = None
    require_approval: bool | None = None
    demo: bool | None = None
    follow_ups: int | None = Field(None, ge=0, le=MAX_FOLLOW_UPS, description="Follow-ups after the first message.")
    follow_up_after: str | None = Field(None, description="Wait between steps: 3d, 12h, 90m or 20s.")
    template: str | None = Field(None, description="The email template (prompts/email/NAME.subject.j2 and .body.j2).")
    prompt: str | None = Field(None, description="The model's prompt (prompts/email/NAME.md).")
    max_per_org: int | None = Field(
        None, ge=1, le=1_000_000, description="People per repository owner at most (the best by score)."
    )
    recontact_days: int | None = Field(
        None, ge=0, le=36_500, description="Skip people another job sent to over SMTP in this many days; 0: off."
    )

    @field_validator("follow_up_after")
    @classmethod
    def _is_a_duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value

    @field_validator("query")
    @classmethod
    def _query_fits_github(cls, query: str | None) -> str | None:
        if query is None:
            return None
        if not query.strip():
            raise ValueError("is blank")
        if not is_valid_utf8(query):
            raise ValueError("is not valid UTF-8")
        if any(ord(char) < 32 or 0x7F <= ord(char) < 0xA0 for char in query):
            raise ValueError("has a control character")
        if len(query) > MAX_QUERY_LENGTH:
            raise ValueError(f"has {len(query)} characters (GitHub allows {MAX_QUERY_LENGTH})")
        operators = sum(1 for word in query.split() if word in ("AND", "OR", "NOT"))
        if operators > MAX_QUERY_OPERATORS:
            raise ValueError(f"has {operators} AND/OR/NOT operators (GitHub allows {MAX_QUERY_OPERATORS})")
        if query.count('"') % 2:
            raise ValueError("has unbalanced quotes")
        return query

    @field_validator("template")
    @classmethod
    def _template_exists(cls, name: str | None) -> str | None:
        return _bundled_version(name, (".subject.j2", ".body.j2"))

    @field_validator("prompt")
    @classmethod
    def _prompt_exists(cls, name: str | None) -> str | None:
        return _bundled_version(name, (".md",))

    @field_validator("icp")
    @classmethod
    def _icp_is_a_profile(cls, icp: dict[str, Any] | None) -> dict[str, Any] | None:
        if icp is None:
            return None
        from cmo_agent.targeting.icp import IcpProfile

        profile = IcpProfile.model_validate(icp)
        return profile.model_dump(include=profile.model_fields_set)


def _bundled_version(name: str | None, suffixes: tuple[str, ...]) -> str | None:
    """`name` when prompts/email holds a file of it for every suffix; ValueError naming those that do."""
    if name is None:
        return None
    from cmo_agent.resources import resource_path

    folder = resource_path("prompts/email")
    if re.fullmatch(r"[a-z0-9][a-z0-9_]{0,63}", name) and all((folder / f"{name}{s}").is_file() for s in suffixes):
        return name
    stems = {path.name.removesuffix(suffixes[0]) for path in folder.glob(f"*{suffixes[0]}")}
    known = sorted(stem for stem in stems if all((folder / f"{stem}{s}").is_file() for s in suffixes))
    raise ValueError(f"no such version {name[:64]!r} in prompts/email (there are: {', '.join(known)})")


def validate_params(raw: Mapping[str, Any] | None) -> RunParams:
    """The run options that are set, checked; ConfigError naming the first bad one otherwise."""
    try:
        params = ParamsSchema.model_validate(raw or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "--" + ".".join(str(p) for p in first["loc"]).replace("_", "-")
        raise ConfigError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
    return cast(RunParams, params.model_dump(exclude_none=True))
