"""LangGraph checkpointer chosen by one URL (SQLite by default, PostgreSQL in production).

Thread ids are UUIDs derived from job ids, as LangGraph's server requires (a job started in Studio
is named by its thread's UUID).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from cmo_agent.core.database import check_url, connect_postgres, connect_sqlite, is_postgres, redact_url
from cmo_agent.core.errors import ConfigError

_THREAD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://cmo-agent.dev/jobs")


def thread_id_for(job_id: str) -> str:
    """The LangGraph thread id (a UUID) of a job: derived from the job id, except for a job started
    in LangGraph Studio, whose id is its thread's UUID already."""
    try:
        if str(uuid.UUID(job_id)) == job_id:
            return job_id
    except ValueError:
        pass
    return str(uuid.uuid5(_THREAD_NAMESPACE, job_id))


def thread_config(job_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """The run config addressing a job's thread, optionally at one checkpoint."""
    configurable: dict[str, Any] = {"thread_id": thread_id_for(job_id)}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable, "recursion_limit": 100_000}


@contextmanager
def open_checkpointer(url: str, create: bool = True) -> Iterator[BaseCheckpointSaver[Any]]:
    """Open the checkpoint saver for `url`, creating its tables if needed.

    With `create=False` (read-only commands) a missing SQLite file is an error, not a new database.
    """
    check_url(url)
    if is_postgres(url):
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        with connect_postgres(url, prepare_threshold=0, row_factory=dict_row) as pg_conn:
            pg_saver = PostgresSaver(pg_conn)
            pg_saver.setup()
            yield pg_saver
        return
    if not url.startswith("sqlite:"):
        raise ConfigError(f"CMO_CHECKPOINT_URL must start with sqlite:/// or postgresql://, got {redact_url(url)!r}")
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = connect_sqlite(url, create=create, check_writable=create, autocommit=False)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()
