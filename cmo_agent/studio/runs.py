"""Runs that no CLI runner drives: started in LangGraph Studio (or by a script's own `invoke`).

Their nodes get a context built from the settings (the environment, or the script's context) and
the run's `params` (`demo` starts the loopback GitHub stand-in), and the job keeps a record like
any CLI job, so `status`, `resume`, `report` and `export` see it. Each step holds the job's lock,
so such a run and a CLI `resume` never run one job at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.runtime import Runtime

from cmo_agent.context import CampaignContext
from cmo_agent.core.checkpointer import thread_id_for
from cmo_agent.core.config import Settings
from cmo_agent.core.errors import ConfigError, RunStopped
from cmo_agent.core.job_lock import hold_job_lock
from cmo_agent.core.jobs import JobStatus, JobStore, open_job_store
from cmo_agent.core.params import validate_params
from cmo_agent.core.state import RunState
from cmo_agent.preflight import check_goal, validate_job_id


def drives_itself(runtime: Runtime[Any]) -> bool:
    """Whether a runner with a run control (the CLI's) drives this run; otherwise it is managed here."""
    context = runtime.context
    return isinstance(context, CampaignContext) and context.control is not None


def managed_context(state: RunState, runtime: Runtime[Any]) -> CampaignContext:
    """The context of a run without a runner: the script's settings or the environment's, with the
    demo's stand-in when the run's params ask for the demo."""
    given = runtime.context if isinstance(runtime.context, CampaignContext) else None
    settings = given.settings if given is not None else Settings()
    if state.get("params", {}).get("demo"):
        from cmo_agent.demo.snapshot import shared_demo_settings

        settings = shared_demo_settings(settings)
    return CampaignContext(settings=settings)


def job_id_of(state: RunState) -> str:
    """The job this run's thread holds: the state's `job_id`, or (a run started with only a goal)
    the thread id itself; a job id that belongs to another thread is refused."""
    thread_id = str(get_config()["configurable"]["thread_id"])
    job_id = state.get("job_id") or thread_id
    validate_job_id(job_id)
    if thread_id_for(job_id) != thread_id:
        raise ConfigError(
            f"job {job_id!r} lives on thread {thread_id_for(job_id)}, not {thread_id}: "
            "start it on that thread, or leave job_id out and the thread names the job"
        )
    return job_id


@contextmanager
def recorded(stage: str, state: RunState, settings: Settings) -> Iterator[None]:
    """Run one step of a managed run under the job's lock, keeping its job record up to date:
    created on its first step, then running, awaiting approval, paused, waiting, failed or done."""
    url = settings.resolved_checkpoint_url()
    job_id = job_id_of(state)
    # The lock first: while another process runs the job (JobBusy), its record is not ours to touch.
    with hold_job_lock(url, job_id):
        with open_job_store(url) as jobs:
            _ensure_job(jobs, job_id, state)
        status: JobStatus = "done" if stage == "report" else "running"
        note: str | None = None
        try:
            yield
        except GraphInterrupt:
            status = "awaiting_approval"
            raise
        except GraphBubbleUp:
            status = "paused"
            raise
        except RunStopped as exc:
            from cmo_agent.send_window import WindowClosed
            from cmo_agent.stages.follow_up import StepNotDue

            status, note = ("waiting" if isinstance(exc, StepNotDue | WindowClosed) else "paused"), str(exc)
            raise
        except BaseException as exc:
            status, note = "failed", f"{stage}: {type(exc).__name__}: {exc}"
            raise
        finally:
            if status != "running":
                with open_job_store(url) as jobs:
                    jobs.set_status(job_id, status, error=note)


def _ensure_job(jobs: JobStore, job_id: str, state: RunState) -> None:
    if not jobs.exists(job_id):
        goal = state.get("goal") or ""
        check_goal(goal)
        jobs.create(job_id, goal, validate_params(dict(state.get("params") or {})))
    elif jobs.get(job_id).status != "running":
        jobs.set_status(job_id, "running")
