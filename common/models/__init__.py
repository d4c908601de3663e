"""Conventional baseline models (MLP, ...) that the brain-inspired families are compared against."""
