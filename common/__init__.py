"""Shared Flax modules and training infrastructure for brain-inspired networks.

Nothing in `common/` imports gin, `launch/` or `projects/`: modules are plain typed Flax modules and functions
that gin files wire together (see WORKSPACE.md).
"""
