"""What `langgraph.json` names for LangGraph's server: the campaign graph, compiled without a
checkpointer (the server brings persistence), and the checkpointer factory that makes that
persistence the project's own database (`CMO_CHECKPOINT_URL`), so the server sees every job the
CLI ran and the CLI every job started in Studio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from cmo_agent.core.config import Settings
from cmo_agent.core.database import is_postgres, sqlite_path
from cmo_agent.core.jobs import open_job_store
from cmo_agent.graph import build_graph

graph = build_graph().compile()


@asynccontextmanager
async def checkpointer() -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """The async saver of the configured checkpoint database, its tables created if needed."""
    settings = Settings()
    url = settings.resolved_checkpoint_url()
    with open_job_store(url):  # the job table too, so a run started in Studio can record its job
        pass
    if is_postgres(url):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(url) as pg_saver:
            await pg_saver.setup()
            yield pg_saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with AsyncSqliteSaver.from_conn_string(str(sqlite_path(url))) as saver:
        await saver.conn.execute("PRAGMA busy_timeout = 30000")
        await saver.setup()
        yield saver
