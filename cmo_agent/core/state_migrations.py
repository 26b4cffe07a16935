"""How a RunState written by an older cmo-agent (a lower `schema_version`, or none) is brought to
`STATE_VERSION` when its job runs again; the tables beside it have their own migrations
(`core/migrations.py`).

Version 0 → 1 (every state written before versioned schemas, 0.1.0 to 0.9.0). What releases after
0.5.0 added to the state is optional and read with a default, so nothing is rewritten: `follow_ups`
and `reports.follow_ups` (0.8.0: no sequence), `progress` (0.8.0: `history` rebuilds such
checkpoints), `forked_from`, `halted_at`, `reports.outcomes`, and the error records' 0.9.0 fields
(an older record counts as one attempt, unresolved). Two things are written:

- `schema_version`, by the first stage step that runs on the older state, with its own update
  (`stamp`, called by the stage wrapper in `graph.py`): no checkpoint of its own;
- `completed_at` for a job whose report stage ran before 0.6.0, which made it the only mark of a
  done job (a 0.5.0 job that finished would otherwise be taken for one stopped before its final
  stage): `resume` writes it, with the time of the report stage's checkpoint, as the report stage
  (`graph.update_state(..., as_node="report")`), a checkpoint `history` shows as `(update)`.

A later version that must rewrite what the stages read adds its step here and to the runner's
`_upgraded`, and is noted in the README's changelog.
"""

from __future__ import annotations

from cmo_agent.core.errors import ConfigError
from cmo_agent.core.state import STATE_VERSION, RunState


def version_of(state: RunState) -> int:
    """The state's schema version (0 for a state written before versions)."""
    return int(state.get("schema_version") or 0)


def check_known(job_id: str, state: RunState) -> None:
    """ConfigError when a newer cmo-agent wrote the state (this code may misread it)."""
    if version_of(state) > STATE_VERSION:
        raise ConfigError(
            f"job {job_id!r} was written by a newer cmo-agent (state schema version {version_of(state)},"
            f" this one knows {STATE_VERSION}): use that cmo-agent, or a newer one"
        )


def stamp(state: RunState) -> RunState:
    """What a stage step adds to its update: the current version, when the state has an older one."""
    return RunState() if version_of(state) == STATE_VERSION else RunState(schema_version=STATE_VERSION)


def lacks_completion(state: RunState) -> bool:
    """Whether the state is of version 0 without `completed_at`: if its report stage ran (the caller
    checks that in the checkpoints), it was written before 0.6.0 and `completion` must be written."""
    return version_of(state) < 1 and not state.get("completed_at")


def completion(report_checkpointed_at: str) -> RunState:
    """The update that marks an older job whose report stage ran as done, at the time it ran."""
    return RunState(completed_at=report_checkpointed_at, schema_version=STATE_VERSION)
