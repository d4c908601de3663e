"""KAN paper toy-formula fits: KAN vs MLP at equal parameters, grid refinement (see README.md)."""
