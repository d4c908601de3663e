"""Fan et al., "On Expressivity and Trainability of Quadratic Networks": experiments (see README.md)."""
