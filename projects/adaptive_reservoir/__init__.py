"""Srinivasan, Plenz & Girvan, "Boosting Reservoir Computing with Brain-inspired Adaptive Dynamics" (README.md)."""
