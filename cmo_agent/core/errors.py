"""The project's exceptions and the error records that nodes put in RunState.

Every exception the product raises on purpose descends from `CmoError`. The tree (classes defined
next to the code that raises them are named with their module):

    CmoError
    ├── ConfigError                       bad input or configuration: one line, exit code 2
    │   ├── JobNotFound
    │   ├── JobBusy                       core.job_lock: another process runs the job
    │   ├── MailboxUnavailable            sync.mailbox: the IMAP server cannot be reached or refuses the login
    │   └── DatabaseUnavailable
    │       ├── DatabaseMissing
    │       └── SchemaTooNew              core.migrations: a newer cmo-agent migrated the database
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
        ├── StepNotDue                    stages.follow_up: the next follow-up is not due, without a run control
        └── WindowClosed                  send_window: no pending message's send window is open, without a run control

A failure inside a stage becomes an `ErrorRecord` in `RunState.errors` (`error_record`), so it is
checkpointed, exported and shown by `status` instead of being lost with the process. There is one
record per stage and item: a failure again counts one more attempt, `resume --retry-errors` marks
the record (`marked_for_retry`) so its stage takes the item again, and an attempt that succeeds
resolves it (`resolutions`).
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cmo_agent.core.records import ErrorRecord
from cmo_agent.core.redaction import redact_secrets, redact_text


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


STAGE_ITEM = "(stage)"
"""The item of a whole stage's failure."""


def error_id(stage: str, item: str) -> str:
    """The id of `item`'s error record in `stage`: one record per stage and item, whatever the message."""
    return hashlib.sha256(f"{stage}|{item}".encode()).hexdigest()[:16]


def attempts_of(record: ErrorRecord | Mapping[str, Any]) -> int:
    """How many times the record's item has failed (records from before attempts were counted: 1)."""
    return int(record.get("attempts") or 1)


def error_record(
    stage: str,
    item: str,
    exc: BaseException,
    *,
    input: Mapping[str, Any] | None = None,
    previous: ErrorRecord | None = None,
    **context: Any,
) -> ErrorRecord:
    """An entry for RunState.errors: stage, item, the exception (type, message, traceback), the
    input that failed and `context`, all with secrets redacted.

    `previous` is the item's record so far (`known_error`): the new one replaces it, one attempt on.
    An exception that was never raised (made to describe a failure) gets the innermost frames of the
    stack that recorded it.
    """
    kind = type(exc).__name__
    message = redact_text(str(exc))
    if exc.__traceback__ is not None:
        trace = "".join(traceback.format_exception(exc))
    else:
        stack = "".join(traceback.format_stack(limit=11)[:-1])
        trace = f"Traceback (recorded here, most recent call last):\n{stack}" + "".join(
            traceback.format_exception_only(exc)
        )
    return ErrorRecord(
        id=error_id(stage, item),
        stage=stage,
        item=item,
        error=f"{kind}: {message}",
        traceback=redact_text(trace),
        context=redact_secrets(context),
        at=utc_now(),
        type=kind,
        message=message,
        input=redact_secrets(dict(input or {})),
        attempts=attempts_of(previous) + 1 if previous is not None else 1,
    )


def known_error(errors: Sequence[ErrorRecord], stage: str, item: str) -> ErrorRecord | None:
    """`item`'s record in `stage`, if it ever failed there (the newest, for records of older jobs)."""
    wanted = error_id(stage, item)
    found = [e for e in errors if e.get("id") == wanted or (e.get("stage") == stage and e.get("item") == item)]
    return found[-1] if found else None


def is_resolved(record: ErrorRecord | Mapping[str, Any]) -> bool:
    return bool(record.get("resolved_at"))


def unresolved(errors: Sequence[ErrorRecord], stage: str | None = None) -> list[ErrorRecord]:
    """The records no later attempt has repaired (of one stage, when given)."""
    return [e for e in errors if not is_resolved(e) and (stage is None or e.get("stage") == stage)]


def retry_requested(errors: Sequence[ErrorRecord], stage: str) -> set[str]:
    """The items of `stage` that `resume --retry-errors` put back, and that no attempt has taken since
    (one that failed again has an unmarked record; older jobs may hold several records per item)."""
    marked: set[str] = set()
    failed_since: set[str] = set()
    for error in unresolved(errors, stage):
        (marked if error.get("retry_requested_at") else failed_since).add(str(error["item"]))
    return marked - failed_since


def marked_for_retry(record: ErrorRecord) -> ErrorRecord:
    """`record`, asked to be retried now (it replaces the unmarked record in the state)."""
    return ErrorRecord(**record) | {"retry_requested_at": utc_now()}


def resolved(record: ErrorRecord) -> ErrorRecord:
    """`record`, repaired now by an attempt that succeeded."""
    return ErrorRecord(**record) | {"resolved_at": utc_now()}


def resolutions(errors: Sequence[ErrorRecord], stage: str, succeeded: Iterable[str]) -> list[ErrorRecord]:
    """The records of `stage` that the items in `succeeded` repaired (those with an unresolved record)."""
    done = set(succeeded)
    return [resolved(error) for error in unresolved(errors, stage) if error.get("item") in done]
