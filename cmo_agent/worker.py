"""`cmo-agent worker`: take campaign jobs from the PostgreSQL queue until SIGTERM or Ctrl-C.

The first signal drains: no new job is taken, every running job finishes its step, checkpoints and
stops (and is queued again for another worker); a second signal stops at once, like kill -9 (the
ledger and the checkpoints make that safe). Each worker also puts back the tasks of workers whose
heartbeat stopped, so a job whose worker died is resumed elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable

from cmo_agent.core.config import Settings
from cmo_agent.work_queue import QUEUE, drain_worker, ensure_queue_schema, queue_app, queue_url, recover_stalled

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings,
    concurrency: int = 1,
    heartbeat: float = 10.0,
    stalled_after: float = 30.0,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Work until stopped; the exit code (0 after a drain)."""
    url = queue_url(settings)
    ensure_queue_schema(url)
    return asyncio.run(_work(url, concurrency, heartbeat, stalled_after, on_ready))


async def _work(
    url: str, concurrency: int, heartbeat: float, stalled_after: float, on_ready: Callable[[str], None] | None
) -> int:
    app = queue_app(url)
    loop = asyncio.get_running_loop()
    async with app.open_async():
        name = f"worker-{os.getpid()}"
        work = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                name=name,
                install_signal_handlers=False,
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=stalled_after,
                fetch_job_polling_interval=1.0,
                delete_jobs="successful",
            )
        )
        signals = 0

        def on_signal() -> None:
            nonlocal signals
            signals += 1
            if signals > 1:
                os._exit(3)  # stop at once: the checkpoints and the ledger make this safe
            drain_worker()
            work.cancel()  # procrastinate stops taking jobs and waits for the running ones

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        watchdog = asyncio.create_task(_watch_stalled(app, stalled_after, max(1.0, heartbeat)))
        if on_ready is not None:
            on_ready(name)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await work
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
    return 0


async def _watch_stalled(app: object, stalled_after: float, every: float) -> None:
    while True:
        try:
            await recover_stalled(app, stalled_after)
        except Exception as exc:
            log.warning("looking for stalled tasks failed: %s", exc)
        await asyncio.sleep(every)
