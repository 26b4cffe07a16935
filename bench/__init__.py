"""Figures and the generated test world: tools of a checkout, not shipped in the wheel."""
