"""LangGraph checkpointer chosen by one URL (SQLite by default, PostgreSQL in production).

Thread ids are UUIDs derived from job ids, as LangGraph's server requires.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from cmo_agent.core.errors import ConfigError

_THREAD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://cmo-agent.dev/jobs")


def thread_id_for(job_id: str) -> str:
    """The LangGraph thread id (a UUID) of a job."""
    return str(uuid.uuid5(_THREAD_NAMESPACE, job_id))


def thread_config(job_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """The run config addressing a job's thread, optionally at one checkpoint."""
    configurable: dict[str, Any] = {"thread_id": thread_id_for(job_id)}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable, "recursion_limit": 100_000}


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///PATH` URL (`sqlite:////abs/path` for absolute paths)."""
    path = url.removeprefix("sqlite:///")
    if not path or path == url:
        raise ConfigError(f"CMO_CHECKPOINT_URL: expected sqlite:///PATH, got {url!r}")
    return Path(path)


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def connect_sqlite(url: str) -> sqlite3.Connection:
    """A SQLite connection for several threads and processes: WAL mode and a busy timeout."""
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@contextmanager
def open_checkpointer(url: str) -> Iterator[BaseCheckpointSaver[Any]]:
    """Open the checkpoint saver for `url`, creating its tables if needed."""
    if is_postgres(url):
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(url) as pg_saver:
            pg_saver.setup()
            yield pg_saver
        return
    if not url.startswith("sqlite:"):
        raise ConfigError(f"CMO_CHECKPOINT_URL must start with sqlite:/// or postgresql://, got {url!r}")
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = connect_sqlite(url)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()
