"""The project's exceptions and the error records that nodes put in RunState.

Every exception the product raises on purpose descends from `CmoError`. The tree (classes defined
next to the code that raises them are named with their module):

    CmoError
    ├── ConfigError                       bad input or configuration: one line, exit code 2
    │   ├── JobNotFound
    │   ├── JobBusy                       core.job_lock: another process runs the job
    │   ├── MailboxUnavailable            sync.mailbox: the IMAP server cannot be reached or refuses the login
    │   └── DatabaseUnavailable
    │       └── DatabaseMissing
    ├── ServiceError                      an outside service failed or answered unusably:
    │   │                                 the item or step fails, the job stays resumable
    │   ├── MalformedAnswer
    │   ├── ProfileMissing                adapters.github: the account is gone (404)
    │   ├── LimitExceeded                 adapters.github_limits: GitHub refused after every retry
    │   ├── GraphQLError                  adapters.github_graphql: no usable data (REST takes over)
    │   ├── MailboxError                  sync.mailbox: IMAP failed in the middle of a sync
    │   ├── LLMError                      adapters.llm
    │   │   ├── LLMUnavailable, LLMRefused, LLMMalformed
    │   └── SmtpError                     adapters.smtp
    │       ├── SmtpUnavailable, SmtpTemporary, SmtpBounce, SmtpRejected, SmtpUncertain
    ├── Rejected                          text that failed the product's own checks; `reason` says why
    │   ├── InvalidQuery                  targeting.query_llm: a search query GitHub would refuse
    │   └── DraftRejected                 drafting.model_draft: a model draft (the template is used)
    ├── Unparsed                          sync.classify: incoming bytes that are no readable message
    ├── StateError                        the RunState holds what no stage writes (a draft without an address)
    └── RunStopped                        not a failure: the run must stop here and can resume
        ├── WaitInterrupted               adapters.github_limits: asked to stop during a long wait
        ├── DeliveryPaused                stages.deliver_smtp: a cap or the bounce rate, without a run control
        └── StepNotDue                    stages.follow_up: the next follow-up is not due, without a run control

A failure inside a stage becomes an `ErrorRecord` in `RunState.errors` (`error_record`), so it is
checkpointed, exported and shown by `status` instead of being lost with the process.
"""

from __future__ import annotations

import hashlib
import traceback
from datetime import UTC, datetime
from typing import Any

from cmo_agent.core.records import ErrorRecord


class CmoError(Exception):
    """Base of the project's own errors."""


class ConfigError(CmoError):
    """Bad input or configuration: reported in one line, exit code 2, nothing started."""


class JobNotFound(ConfigError):
    """No job with that id in the database."""


class ServiceError(CmoError):
    """An outside service (GitHub, the model, the SMTP relay) failed or answered unusably."""


class Rejected(CmoError):
    """Text that failed the product's own checks; `reason` says which check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StateError(CmoError):
    """The RunState holds something no stage writes; the step fails rather than guess."""


class RunStopped(CmoError):
    """Not a failure: the run must stop where it is, and `resume` goes on from there."""


class MalformedAnswer(ServiceError):
    """An outside service answered with data the product cannot use (a field missing or of the wrong type).

    It fails the step (the job is resumable) rather than being stored or guessed around.
    """


class DatabaseUnavailable(ConfigError):
    """The checkpoint database cannot be opened or reached (unreadable, corrupt, refused)."""


class DatabaseMissing(DatabaseUnavailable):
    """A read-only command found no SQLite database (and created none)."""


def quoted(text: str, limit: int) -> str:
    """Untrusted text (model output, profile text) for a note or reason: repr-escaped, on one line, cut short."""
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def error_record(stage: str, item: str, exc: BaseException, **context: Any) -> ErrorRecord:
    """An entry for RunState.errors: stage, item, the exception with its trace, and input context.

    The id is derived from stage, item and message, so recording the same failure twice keeps one.
    """
    message = f"{type(exc).__name__}: {exc}"
    digest = hashlib.sha256(f"{stage}|{item}|{message}".encode()).hexdigest()[:16]
    return ErrorRecord(
        id=digest,
        stage=stage,
        item=item,
        error=message,
        traceback="".join(traceback.format_exception(exc)),
        context=context,
        at=utc_now(),
    )
