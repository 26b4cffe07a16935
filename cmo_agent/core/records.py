"""The records under RunState, typed: what a repository, candidate, lead, draft and error hold.

They are TypedDicts, so they stay plain JSON-able dicts in checkpoints and exports while strict mypy
checks every field a stage reads or writes. Every record is `total=False`: the keyed collections
merge partial updates (`upsert_by_key`), so a stage writes only the fields it owns — hygiene writes
`hygiene` and `address` into a lead, score writes `score`, `score_reasons` and `qualified`.

Who writes what, in pipeline order:

- `Repo`: discover (search fields), extract_candidates (`contributors_*`, `commit_authors`);
- `Candidate`: extract_candidates;
- `Lead`: enrich (`status`, `profile`, `email`, `provenance`), hygiene (`hygiene`, `address`),
  score (`score`, `score_reasons`, `qualified`, `cap`), personalize (`personalization`, `draft_error`),
  `sync` (`outcome`, `outcome_at`, `outcome_detail`, `soft_bounce`);
- `Draft`: personalize (the message), approve (`rejected`), deliver (its `DeliveryStatus` and when);
- `ErrorRecord`: any stage, through `core.errors.error_record`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

LeadStatus = Literal["enriched", "missing", "error"]
"""What enrichment found: a profile, no such account (deleted or renamed), or a failed lookup."""
EmailSource = Literal["profile", "commit"]
"""Where a lead's address came from: the public profile, or a commit they authored."""
CommitVia = Literal["commit_page", "author_filter", "graphql_history"]
"""How a commit address was found: a repository's newest commit page read for everyone, a REST
`?author=` lookup, or a batched GraphQL `history(author:)` lookup for this person."""
Generator = Literal["llm", "template"]
"""Who wrote a draft: the model (checked), or the versioned templates."""
DraftStatus = Literal["drafted", "rejected", "stopped"]
"""A draft before delivery: waiting to go, rejected at the approval gate (never delivered), or (a
follow-up) not written because the lead's sequence ended (`stop_reason`: replied, suppressed, ...)."""
DeliveryStatus = Literal["written", "sent", "deferred", "bounced", "failed", "suppressed", "unknown"]
"""What delivery did: an outbox file; over SMTP accepted, deferred by a 4xx (retried), refused for
good (5xx: `bounced` for the recipient, `failed` otherwise), stopped by the suppression list, or
`unknown` when the connection broke after the message was handed over (never retried)."""
LeadOutcome = Literal["replied", "bounced", "unsubscribed", "auto_replied"]
"""What the person did with our message, as `sync` read it from the mailbox. When several messages
came back, the strongest counts: unsubscribed, then bounced, then replied, then auto_replied."""
MessageStatus = DraftStatus | DeliveryStatus
"""A draft's `status` over its whole life."""

PENDING_STATUSES: frozenset[MessageStatus] = frozenset(["drafted", "deferred"])
"""Statuses delivery still has to act on."""
DELIVERED_STATUSES: frozenset[MessageStatus] = frozenset(["written", "sent"])
"""Statuses that mean the message left the campaign (an outbox file, or accepted by the relay)."""


class CommitAuthor(TypedDict):
    """A person's newest usable commit address on a repository's latest commit page."""

    email: str
    sha: str
    url: str
    fetched_at: str


class Repo(TypedDict, total=False):
    """A repository found by discover, by full name (`owner/name`)."""

    full_name: str
    html_url: str
    description: str
    topics: list[str]
    language: str | None
    stars: int
    archived: bool
    fork: bool
    pushed_at: str | None
    contributors_fetched: bool
    """False until extract_candidates has listed its contributors (or failed to)."""
    contributors: int
    """Human contributors kept."""
    bots_dropped: int
    contributors_error: str
    commit_authors: dict[str, CommitAuthor]
    """By login (email_sources with "commit")."""


class Candidate(TypedDict, total=False):
    """A person found in repositories, by login."""

    login: str
    repos: dict[str, int]
    """Contributions by repository full name."""
    contributions: int
    """Their sum."""


class Profile(TypedDict, total=False):
    """A GitHub user's public profile (REST or GraphQL, the same fields)."""

    login: str
    name: str | None
    company: str | None
    blog: str | None
    location: str | None
    email: str | None
    bio: str | None
    type: str | None
    followers: int
    public_repos: int
    html_url: str | None
    api_url: str
    created_at: str | None
    updated_at: str | None
    id: int | None
    """GitHub's numeric account id (REST `id`, GraphQL `databaseId`): it survives a change of login or
    address, so suppression by identity and "one person, one lead" key on it."""
    node_id: str | None
    """The account's GraphQL node id (REST `node_id`, GraphQL `id`), for `history(author: {id:})`."""


class UtcOffset(TypedDict, total=False):
    """A lead's likely UTC offset: the most frequent one among their recent commits' author dates
    (GraphQL `GitTimestamp` keeps the author's offset; REST dates are UTC and say nothing)."""

    minutes: int
    """East of UTC, e.g. 330 for +05:30, -300 for -05:00."""
    seen: int
    """How many of the commits looked at carry this offset."""
    of: int
    """How many commits were looked at."""
    evidence: list[str]
    """Up to five of those commits: `<repo>@<sha> <author date as given>`."""


class Provenance(TypedDict, total=False):
    """Where and when a lead's address was found."""

    source: EmailSource
    url: str
    fetched_at: str
    repo: str
    """The repository of the commit (commit addresses)."""
    sha: str
    via: CommitVia
    """A commit page read for everyone, a `?author=` lookup for this person, or their commit history
    in a GraphQL batch of such lookups."""


class Hygiene(TypedDict, total=False):
    """Whether a lead's address is fit to write to, and why not."""

    ok: bool
    reason: str | None
    """None when ok; else `reason` or `reason:detail` (for example `suppressed:unsubscribe`)."""
    mx: str
    """The domain's mail records verdict, when checked."""


class Personalization(TypedDict, total=False):
    """How the lead's draft was written."""

    generator: Generator | None
    fallback_reason: str | None


class Lead(TypedDict, total=False):
    """An enriched candidate, by login: profile, address and provenance, hygiene, score."""

    login: str
    repos: dict[str, int]
    contributions: int
    status: LeadStatus
    error: str
    """Why enrichment failed (status "error")."""
    profile: Profile
    email: str | None
    """The address as found."""
    email_source: EmailSource | None
    provenance: Provenance
    hygiene: Hygiene
    address: str | None
    """The address as normalized by hygiene; None when it failed."""
    score: int
    """0–100 against the ideal customer profile."""
    score_reasons: list[str]
    qualified: bool
    cap: str | None
    """Why score left a qualified lead out (`org_cap:<owner>`: `max_per_org` better people of that
    owner's repositories were kept); None otherwise."""
    personalization: Personalization
    draft_error: str
    """Why no draft could be written (a missing fact, a template draft that failed its checks)."""
    outcome: LeadOutcome
    outcome_at: str | None
    """When the message that decided the outcome was sent (its Date header), if it says."""
    outcome_detail: str
    """The reply's own first words, the bounce's status, or what marked an auto-reply."""
    soft_bounce: str
    """The last delivery delay reported (status and when): it suppresses nothing."""
    utc_offset: UtcOffset
    """The person's likely time zone, from commit timestamps (enrich); send windows apply in it."""
    aliases: list[str]
    """Other logins found to be this same person (same account id or same address), merged into this
    lead by hygiene (its `repos` and `contributions` then cover them all); each of them whose own
    address passed is a lead with `hygiene.reason` `same_person_as:<login>`."""


class Draft(TypedDict, total=False):
    """A drafted message by lead login, with its delivery status."""

    login: str
    to: str
    subject: str
    body: str
    generator: Generator
    prompt_version: str
    model: str | None
    omitted_facts: dict[str, str]
    """Facts left out of a template draft, with why (see `drafting.facts.template_facts`)."""
    fallback_reason: str
    """Why the model's draft was not used (the template's was)."""
    message_id: str
    status: MessageStatus
    drafted_at: str
    outbox_path: str
    delivered_at: str
    sent_at: str
    smtp_code: int | None
    attempts: int
    retry_at: float
    """When a deferred message is due again (Unix time)."""
    suppressed_by: str
    resend_after_unknown: bool
    """Put back to `drafted` by `resume --resend-unknown` after an `unknown` outcome."""
    step: int
    """0 for the first message; n for follow-up n (`RunState.follow_ups`)."""
    in_reply_to: str
    """A follow-up's parent: the first message's Message-ID (also its References)."""
    stop_reason: str
    """Why a follow-up was not written (status `stopped`)."""


class ErrorRecord(TypedDict):
    """A failure in RunState.errors: of one item, or of a whole stage (item `(stage)`, `context.stage_failed`).

    One record per stage and item: a repeated failure replaces it with its latest message and
    traceback and one more `attempts`; a retry that succeeds sets `resolved_at`. Older records (from
    before `resume --retry-errors`) lack the `NotRequired` fields, and their id also covers the message.
    """

    id: str
    """Derived from stage and item (in older records, also from the message)."""
    stage: str
    item: str
    error: str
    """`ExceptionType: message` (what `type` and `message` say, in one string)."""
    traceback: str
    context: dict[str, Any]
    """What the stage knew about the failure (which lookup, a fallback), never secrets."""
    at: str
    """When the latest attempt failed."""
    type: NotRequired[str]
    """The exception's class name."""
    message: NotRequired[str]
    input: NotRequired[dict[str, Any]]
    """The failing item's input (a repository, a candidate; a stage's pending items), secrets redacted."""
    attempts: NotRequired[int]
    """How many times this item has failed in this job (1 when absent)."""
    retry_requested_at: NotRequired[str]
    """Set by `resume --retry-errors`: the stage takes the item again."""
    resolved_at: NotRequired[str]
    """When a later attempt succeeded; `status` counts only records without it."""


class RunParams(TypedDict, total=False):
    """A run's options (`RunState.params`), as checked by `core.params.validate_params`; unset ones
    take the stages' defaults."""

    query: str
    max_repos: int
    max_leads: int
    min_score: int
    email_sources: list[EmailSource]
    icp: dict[str, Any]
    deliver: Literal["outbox", "smtp"]
    require_approval: bool
    demo: bool
    follow_ups: int
    """Follow-up messages after the first, each threaded under it (0: none)."""
    follow_up_after: str
    """How long after a step the next is due, as given (`3d`, `12h`, `90m`, `20s`)."""
    template: str
    """The email template's version (`intro_v2`: prompts/email/intro_v2.subject.j2 and .body.j2)."""
    prompt: str
    """The model prompt's version (`personalize_v1`: prompts/email/personalize_v1.md)."""
    max_per_org: int
    """At most this many people per repository owner (organization) in the campaign (unset: no cap)."""
    recontact_days: int
    """Skip a person any job sent to over SMTP in this many days (`CMO_RECONTACT_DAYS`, default 90);
    0 lets the run write to them again (the operator's override)."""
