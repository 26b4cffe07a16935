"""Delivery over SMTP: at most once per person, paced, and stoppable between any two messages.

Every message is planned in the ledger, moved to `sending` just before its transaction and to
its outcome just after, so a crash at any instant leaves at most one message `unknown`. The
suppression list is read immediately before each send. A relay that cannot be reached, the daily
cap, or too many hard bounces pause the campaign (resumable) instead of failing it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from langgraph.runtime import Runtime

from cmo_agent.adapters.smtp import (
    SmtpBounce,
    SmtpRejected,
    SmtpTemporary,
    SmtpTransport,
    SmtpUnavailable,
    SmtpUncertain,
)
from cmo_agent.context import CampaignContext
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import RunStopped, utc_now
from cmo_agent.core.ledger import Ledger, is_final, open_ledger
from cmo_agent.core.records import PENDING_STATUSES, Draft
from cmo_agent.core.state import RunState
from cmo_agent.core.suppression import SuppressionList, open_suppressions
from cmo_agent.mail.message import build_message, recipient_of, sender_of
from cmo_agent.stages.common import report_progress, settings_of

BOUNCE_RATE_LIMIT = 0.02
BOUNCE_RATE_MIN_MESSAGES = 50
DAY = 86_400.0


class DeliveryPaused(RunStopped):
    """The campaign must stop here (raised only where no run control can drain it, e.g. Studio)."""


def pacing_wait(ledger: Ledger, sender: str, settings: Settings, now: float) -> tuple[float, str | None]:
    """(seconds to wait before the next message, None) under the per-minute rate, or (0, why) when
    the rolling 24-hour cap is reached. Both read what the ledger says was sent, across jobs."""
    recent = ledger.sent_since(sender, now - DAY)
    if len(recent) >= settings.daily_cap:
        free_at = recent[len(recent) - settings.daily_cap] + DAY
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(free_at))
        return 0.0, f"daily cap of {settings.daily_cap} messages from {sender} reached; resume after {when}"
    if not recent:
        return 0.0, None
    return max(0.0, recent[-1] + 60.0 / settings.send_rate_per_min - now), None


def bounce_problem(ledger: Ledger, job_id: str, since: float) -> str | None:
    """Why the campaign must pause for its hard-bounce rate (measured over this run), or None."""
    total, bounced = ledger.outcomes_since(job_id, since)
    if total >= BOUNCE_RATE_MIN_MESSAGES and bounced / total > BOUNCE_RATE_LIMIT:
        return (
            f"hard-bounce rate {bounced / total:.1%} over {total} messages passed {BOUNCE_RATE_LIMIT:.0%}; "
            "check the list, then resume"
        )
    return None


class _Run:
    """One deliver step: the open ledger, suppression list and relay, and what the step changed."""

    def __init__(
        self,
        state: RunState,
        drafts: Mapping[str, Draft],
        runtime: Runtime[CampaignContext],
        ledger: Ledger,
        suppressions: SuppressionList,
    ) -> None:
        self.state, self.drafts, self.settings = state, drafts, settings_of(runtime)
        context = runtime.context if isinstance(runtime.context, CampaignContext) else None
        self.control = context.control if context else None
        self.started_at = context.started_at if context else time.time()
        self.ledger, self.suppressions = ledger, suppressions
        self.job_id = state["job_id"]
        self.sender = sender_of(self.settings)[1]
        self.updates: dict[str, Draft] = {}
        self.counts: dict[str, int] = {}
        self.pause_reason: str | None = None

    def stopping(self) -> bool:
        return self.pause_reason is not None or bool(self.control and self.control.drain_requested)

    def pause(self, reason: str) -> None:
        self.pause_reason = reason

    def record(self, key: str, update: Draft) -> None:
        self.updates[key] = update
        self.counts[f"smtp_{update['status']}"] = self.counts.get(f"smtp_{update['status']}", 0) + 1

    def sleep(self, seconds: float) -> bool:
        """Sleep, waking early to stop; True when the full time passed."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stopping():
                return False
            time.sleep(min(left, 0.2))
        return not self.stopping()

    def deliver_one(self, key: str, transport: SmtpTransport) -> None:
        """Send the draft under `key` (a login, or `login/step` for a follow-up) at most once."""
        draft = self.drafts[key]
        login, step = draft.get("login", key), draft.get("step", 0)
        lead = self.state["leads"][login]
        address = recipient_of(lead)
        account_id = lead.get("profile", {}).get("id")
        entry = self.ledger.plan(self.job_id, login, draft["message_id"], address, self.sender, step, account_id)
        if is_final(entry.state):  # decided before a crash or by another run: never send again
            self.record(key, Draft(status=entry.state, smtp_code=entry.last_code))
            return
        if entry.state == "sending":  # left by a run that did not settle it: it may have gone out
            self.ledger.finish(self.job_id, login, "unknown", None, "found in `sending`", step)
            self.record(key, Draft(status="unknown"))
            return
        if entry.state == "deferred" and entry.next_attempt_at > time.time():
            return
        if self.state.get("forked_from") and (other := self.ledger.mailed_elsewhere(self.job_id, address)):
            # A fork (`replay`) never writes to anyone another job wrote to: the ledger says who.
            reason = f"already mailed by job {other}"
            self.ledger.finish(self.job_id, login, "suppressed", error=reason, step=step)
            self.record(key, Draft(status="suppressed", suppressed_by=reason))
            return
        if listed := self.suppressions.suppressed_person(address, [login, *lead.get("aliases", [])], [account_id]):
            self.ledger.finish(self.job_id, login, "suppressed", error=f"on the suppression list ({listed})", step=step)
            self.record(key, Draft(status="suppressed", suppressed_by=listed))
            return
        wait, capped = pacing_wait(self.ledger, self.sender, self.settings, time.time())
        if capped:
            self.pause(capped)
            return
        if not self.sleep(wait) or not self.ledger.begin_send(self.job_id, login, step):
            return
        message = build_message(draft, lead, self.settings)
        attempts = entry.attempts + 1
        try:
            transport.send(message, self.sender, address)
        except SmtpUnavailable as exc:
            self.ledger.release(self.job_id, login, str(exc), step)
            self.pause(f"SMTP unavailable: {exc}")
        except SmtpTemporary as exc:
            if attempts >= self.settings.send_max_attempts:
                self.ledger.finish(self.job_id, login, "failed", exc.code, str(exc), step)
                self.record(key, Draft(status="failed", smtp_code=exc.code, attempts=attempts))
            else:
                retry_at = time.time() + self.settings.send_retry_seconds * 2 ** (attempts - 1)
                self.ledger.defer(self.job_id, login, exc.code, str(exc), retry_at, step)
                self.record(key, Draft(status="deferred", smtp_code=exc.code, attempts=attempts, retry_at=retry_at))
        except SmtpBounce as exc:
            self.ledger.finish(self.job_id, login, "bounced", exc.code, str(exc), step)
            reason, source = f"hard bounce {exc.code}", f"job:{self.job_id}"
            self.suppressions.add_person(address, login, account_id, reason=reason, source=source)
            self.record(key, Draft(status="bounced", smtp_code=exc.code))
        except SmtpRejected as exc:
            self.ledger.finish(self.job_id, login, "failed", exc.code, str(exc), step)
            self.record(key, Draft(status="failed", smtp_code=exc.code, attempts=attempts))
        except SmtpUncertain as exc:
            self.ledger.finish(self.job_id, login, "unknown", None, str(exc), step)
            self.record(key, Draft(status="unknown"))
        else:
            self.ledger.finish(self.job_id, login, "sent", 250, step=step)
            self.record(key, Draft(status="sent", sent_at=utc_now(), attempts=attempts))
        if problem := bounce_problem(self.ledger, self.job_id, self.started_at):
            self.pause(problem)


def deliver_smtp(
    state: RunState,
    runtime: Runtime[CampaignContext],
    pending: list[str],
    drafts: Mapping[str, Draft] | None = None,
    stage: str = "deliver",
) -> tuple[dict[str, Draft], dict[str, int]]:
    """Send the next batch of the `pending` drafts (of `drafts`, the first messages by default) that
    are due; wait for the earliest deferred one when none is due. Returns each draft's update and the
    step's `smtp_<status>` counters."""
    settings = settings_of(runtime)
    drafts = state.get("to_send", {}) if drafts is None else drafts
    due = [key for key in pending if drafts[key].get("retry_at", 0) <= time.time()]
    with open_ledger(settings) as ledger, open_suppressions(settings) as suppressions:
        run = _Run(state, drafts, runtime, ledger, suppressions)
        if pending and not due:
            run.sleep(min(drafts[login]["retry_at"] for login in pending) - time.time())
            due = [key for key in pending if drafts[key].get("retry_at", 0) <= time.time()]
        with SmtpTransport(settings) as transport:
            for key in due[: settings.batch_size]:
                if run.stopping():
                    break
                run.deliver_one(key, transport)
    if run.pause_reason:
        if run.control is None:  # no run to drain (LangGraph Studio): stop with the reason
            raise DeliveryPaused(run.pause_reason)
        run.control.request_drain(run.pause_reason)
    done = sum(1 for d in drafts.values() if d.get("status") not in (*PENDING_STATUSES, "rejected"))
    report_progress(runtime, stage, done + len(run.updates), len(drafts))
    return run.updates, run.counts
