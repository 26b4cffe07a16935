"""LangGraph Studio on the project's own checkpoint database: the entry points `langgraph.json`
names (`entry`), the jobs of runs started there (`runs`), and `cmo-agent studio` (`server`)."""
