"""How a running campaign answers SIGINT and SIGTERM: the first drains (finish the step, checkpoint,
stop), a second stops at once, and once the run has settled, late signals change nothing."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langgraph.runtime import RunControl


@contextmanager
def drain_on_signals(control: RunControl) -> Iterator[threading.Event]:
    """SIGINT and SIGTERM finish the current step, checkpoint it and stop; a second one aborts at once.

    Once the caller sets the yielded event (the graph has stopped), signals are ignored until the
    block ends, so how the run ended is always recorded.
    """
    settling = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if settling.is_set():
            return
        if control.drain_requested:
            raise KeyboardInterrupt
        control.request_drain(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield settling
    finally:
        for sig, old in previous.items():
            signal.signal(sig, signal.SIG_IGN if _shield_after_runs else old)


_shield_after_runs = False


def shield_signals_after_runs() -> None:
    """For a program that ends when its run ends (the CLI): once a run has settled, SIGINT and SIGTERM
    are ignored instead of the earlier handlers coming back, so a late Ctrl-C cannot cut short the
    recording or the summary, nor change the exit code."""
    global _shield_after_runs
    _shield_after_runs = True
