"""What every stage node shares: its settings, progress events and bounded parallel work."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

from langgraph.runtime import Runtime

from cmo_agent.adapters.github import RequestMeter
from cmo_agent.adapters.github_limits import LimitPolicy
from cmo_agent.context import CampaignContext
from cmo_agent.core.config import Settings
from cmo_agent.core.state import RunState

T = TypeVar("T")
R = TypeVar("R")


def settings_of(runtime: Runtime[CampaignContext] | None) -> Settings:
    context = runtime.context if runtime is not None else None
    return context.settings if isinstance(context, CampaignContext) else Settings()


def report_progress(runtime: Runtime[CampaignContext] | None, stage: str, done: int, total: int) -> None:
    """Emit a progress event on LangGraph's custom stream (the CLI draws it as a bar)."""
    if runtime is not None:
        runtime.stream_writer({"stage": stage, "done": done, "total": total})


def run_parallel(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """`fn` over `items` on at most `workers` threads, results in input order; the first exception
    is raised only once every call has ended.

    Each call runs in a copy of the caller's context, so request meters follow the work.
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    futures = [_pool(workers).submit(contextvars.copy_context().run, fn, item) for item in items]
    # Every call ends before anything is raised: the caller may close what the calls still use
    # (a cache's database connection) as soon as this returns or raises.
    wait(futures)
    return [future.result() for future in futures]


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """One long-lived pool per width, so per-thread HTTP clients keep their connections across batches."""
    with _POOLS_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"cmo-stage-{workers}")
        return _POOLS[workers]


def shutdown_pools() -> int:
    """Shut down every worker pool, cancelling work not started and waiting for work in flight (which
    `run_parallel` never leaves behind unless its caller was interrupted); returns how many there were.

    The CLI calls it before the process exits. A later `run_parallel` starts a fresh pool.
    """
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)
    return len(pools)


def github_meter(settings: Settings, runtime: Runtime[CampaignContext] | None) -> RequestMeter:
    """A request meter for one node, following the configured limits and reporting waits as progress."""
    policy = LimitPolicy(
        max_retries=settings.github_max_retries,
        max_per_minute=settings.github_max_per_minute,
        max_in_flight=settings.github_workers,
    )

    def on_wait(seconds: float, reason: str) -> None:
        if runtime is not None:
            runtime.stream_writer({"stage": "github", "waiting": round(seconds, 1), "reason": reason})

    context = runtime.context if runtime is not None and isinstance(runtime.context, CampaignContext) else None
    control = context.control if context is not None else None
    return RequestMeter(policy, on_wait, stop_requested=(lambda: control.drain_requested) if control else None)


def param(state: RunState, name: str, default: Any) -> Any:
    """A run option from state, with its default (Studio runs may pass only a goal)."""
    value = state.get("params", {}).get(name)
    return default if value is None else value
