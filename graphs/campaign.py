"""The campaign graph for LangGraph Studio and `langgraph dev`, compiled without a checkpointer.

The server brings its own persistence; the CLI compiles the same builder with its checkpointer.
"""

from cmo_agent.graph import build_graph

builder = build_graph()
graph = builder.compile()
