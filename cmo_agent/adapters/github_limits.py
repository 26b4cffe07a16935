"""GitHub's limits, applied to every request the adapter sends (REST through PyGithub, and GraphQL).

- primary limit (403/429 with `x-ratelimit-remaining: 0`): wait until `x-ratelimit-reset`;
- secondary limit (403/429 with `retry-after`, or a "secondary rate limit" message): wait as told,
  else back off from a minute;
- 5xx answers and transport errors: retry with exponential backoff;
- at most `max_in_flight` requests at once and `max_per_minute` per endpoint, process-wide;
- a budget an answer reported as spent (`x-ratelimit-remaining: 0`, e.g. search's 30 a minute):
  wait for its reset before sending to that resource again, instead of being refused.
Every attempt is recorded in the current RequestMeter, so counters match what GitHub received.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from cmo_agent.core.errors import RunStopped, ServiceError

R = TypeVar("R")


@dataclass(frozen=True)
class LimitPolicy:
    """How patient the adapter is; every field has a safe default for github.com."""

    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    secondary_wait: float = 60.0
    max_wait: float = 3700.0
    max_in_flight: int = 10
    max_per_minute: int = 800


def resource_of(endpoint: str) -> str:
    """The rate-limit budget GitHub charges an endpoint to."""
    if endpoint.startswith("/search/"):
        return "search"
    return "graphql" if endpoint == "/graphql" else "core"


class Pacer:
    """Process-wide: a bound on requests in flight, a minimum spacing per endpoint, and the
    budgets GitHub said are spent (resource → epoch second of their reset)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at: dict[str, float] = {}
        self._spent_until: dict[str, float] = {}
        self._slots: threading.BoundedSemaphore | None = None
        self._slots_size = 0

    def acquire(self, endpoint: str, policy: LimitPolicy) -> threading.BoundedSemaphore:
        """Wait for the endpoint's next turn and a free slot; release the returned slot when done."""
        with self._lock:
            if self._slots is None or self._slots_size != policy.max_in_flight:
                self._slots = threading.BoundedSemaphore(policy.max_in_flight)
                self._slots_size = policy.max_in_flight
            slots = self._slots
            now = time.monotonic()
            start = max(now, self._next_at.get(endpoint, now))
            self._next_at[endpoint] = start + 60.0 / policy.max_per_minute
        if start > now:
            time.sleep(start - now)
        slots.acquire()
        return slots

    def observe(self, endpoint: str, headers: Mapping[str, str]) -> None:
        """Remember whether the answer said its budget is spent, and until when."""
        lowered = {k.lower(): v for k, v in headers.items()}
        resource = lowered.get("x-ratelimit-resource") or resource_of(endpoint)
        remaining, reset = lowered.get("x-ratelimit-remaining"), lowered.get("x-ratelimit-reset", "")
        with self._lock:
            if remaining == "0" and reset.isdigit():
                self._spent_until[resource] = float(reset)
            elif remaining is not None:
                self._spent_until.pop(resource, None)

    def budget_wait(self, endpoint: str, now: float | None = None) -> float:
        """Seconds until the endpoint's spent budget resets (0 when it is not known to be spent)."""
        with self._lock:
            reset = self._spent_until.get(resource_of(endpoint))
        now = time.time() if now is None else now
        return 0.0 if reset is None or reset < now else reset - now + 1.0


PACER = Pacer()


def limit_wait(
    status: int, headers: Mapping[str, str], body: str, attempt: int, policy: LimitPolicy, now: float | None = None
) -> tuple[float, str] | None:
    """Seconds to wait before trying again and why, or None when the answer is final."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if status in (403, 429):
        if (retry_after := lowered.get("retry-after")) and retry_after.isdigit():
            return float(retry_after), "secondary"
        if lowered.get("x-ratelimit-remaining") == "0" and (reset := lowered.get("x-ratelimit-reset", "")).isdigit():
            return max(float(reset) - (now or time.time()), 0.0) + 1.0, "primary"
        if status == 429 or "secondary rate limit" in body.lower():
            return min(policy.secondary_wait * 2**attempt, policy.max_wait), "secondary"
        return None
    if status >= 500:
        return min(policy.backoff_base * 2**attempt, policy.backoff_cap), "server_error"
    return None


class LimitExceeded(ServiceError):
    """GitHub kept refusing after every retry the policy allows."""


class WaitInterrupted(RunStopped):
    """The run was asked to stop (Ctrl-C, SIGTERM, `pause`) while waiting out one of GitHub's limits:
    the step gives up its batch (it runs again on resume) instead of sleeping on for up to an hour."""


def interruptible_sleep(seconds: float, stop_requested: Callable[[], bool] | None, slice_seconds: float = 0.25) -> None:
    """Sleep `seconds`, raising WaitInterrupted as soon as `stop_requested()` says so."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if stop_requested is not None and stop_requested():
            raise WaitInterrupted(f"stopped {left:.0f} s before a wait for GitHub's limits ended")
        time.sleep(min(left, slice_seconds))


def send_with_limits(
    send: Callable[[], R],
    describe: Callable[[R], tuple[int, Mapping[str, str], str]],
    endpoint: str,
    policy: LimitPolicy,
    on_attempt: Callable[[], None],
    on_wait: Callable[[float, str], None],
    transient: tuple[type[BaseException], ...],
    stop_requested: Callable[[], bool] | None = None,
) -> R:
    """Send a request, waiting and retrying as GitHub's limits and failures require.

    `describe` gives an answer's status, headers and body; the last answer is returned when retries
    run out (the caller's library then raises its usual error for it). Waits end early, with
    WaitInterrupted, once `stop_requested()` is true.
    """
    attempt = 0
    while True:
        if (budget := PACER.budget_wait(endpoint)) > 0:
            if budget > policy.max_wait:
                raise LimitExceeded(f"GitHub's {resource_of(endpoint)} budget resets in {budget:.0f} s")
            on_wait(budget, "primary")
            interruptible_sleep(budget, stop_requested)
        slot = PACER.acquire(endpoint, policy)
        on_attempt()
        try:
            answer = send()
        except transient:
            if attempt >= policy.max_retries:
                raise
            wait, reason = min(policy.backoff_base * 2**attempt, policy.backoff_cap), "transport_error"
        else:
            status, headers, body = describe(answer)
            PACER.observe(endpoint, headers)
            decision = limit_wait(status, headers, body, attempt=attempt, policy=policy)
            if decision is None or attempt >= policy.max_retries:
                return answer
            wait, reason = decision
            if wait > policy.max_wait:
                raise LimitExceeded(f"GitHub asks to wait {wait:.0f} s ({reason}), more than {policy.max_wait:.0f} s")
        finally:
            slot.release()
        on_wait(wait, reason)
        interruptible_sleep(wait, stop_requested)
        attempt += 1
