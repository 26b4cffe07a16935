"""Commands that only read a state (`status`, `resume` of a finished job, `export`) compile the graph without
loading what the stages use: the stages are imported on their first step (`graph._staged`). Every campaign
test runs the stages through those references."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

STAGE_LIBRARIES = ("github", "dns.resolver", "email_validator", "openai", "cmo_agent.stages.enrich")

PROBE = """
import json, sys
from cmo_agent.cli import app
from cmo_agent.graph import build_graph
from cmo_agent.reporting import funnel
from cmo_agent.runner import current_state
build_graph().compile()
print(json.dumps(sorted(name for name in sys.modules if name in {names!r})))
"""


@pytest.mark.e2e
def test_compiling_the_graph_loads_no_stage_library() -> None:
    probe = PROBE.format(names=set(STAGE_LIBRARIES))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
