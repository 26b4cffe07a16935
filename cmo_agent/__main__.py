"""`python -m cmo_agent` runs the command line."""

from cmo_agent.cli import main

main()
