"""Quadratic neurons (Fan et al., "On Expressivity and Trainability of Quadratic Networks") and ReLinear.

neurons.py   QuadraticDense / QuadraticConv: the seed's neuron and other published quadratic forms
models.py    QuadraticMLP: a stack of QuadraticDense layers (the trainability experiment's network)
relinear.py  ReLinear's regularisers: the optax transform that scales quadratic-parameter updates by path,
             and the optimizer factory that appends it after any base optimizer
"""

from common.quadratic.models import QuadraticMLP
from common.quadratic.neurons import FORMS, QUADRATIC_PARAM_PATTERN, QuadraticConv, QuadraticDense
from common.quadratic.relinear import relinear_optimizer, scale_updates_by_path

__all__ = [
  'FORMS',
  'QUADRATIC_PARAM_PATTERN',
  'QuadraticConv',
  'QuadraticDense',
  'QuadraticMLP',
  'relinear_optimizer',
  'scale_updates_by_path',
]
