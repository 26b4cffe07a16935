"""The campaign graph and checkpointer factory for LangGraph Studio and `langgraph dev` (`langgraph.json`).

The graph is compiled without a checkpointer: the server brings persistence, and the factory makes
it the project's own database. The CLI compiles the same builder with its checkpointer.
"""

from cmo_agent.studio.entry import checkpointer, graph

__all__ = ["checkpointer", "graph"]
