"""Quadratic neurons: the seed's form and the other published forms, as Dense and Conv layers.

Forms (x is the layer input; every product and power is elementwise; "a.x" is a linear map, dense or conv):

  'fan'      (r.x + b_r) * (g.x + b_g) + b.(x*x) + c    Fan et al. (the seed; ReLinear code `conv_r(x) *
                                                        conv_g(x) + conv_b(x**2)`). About 3x the parameters.
  'product'  sum_k (a_k.x)(g_k.x) + r.x + b_r           low-rank second-order (Volterra) neuron; with rank=1
                                                        the product-of-two-linear-forms neuron (QuadraLib T4)
                                                        plus a linear term. (1 + 2*rank)x the parameters.
  'power'    r.x + b_r + b.(x*x)                        linear plus a diagonal power term (QuadraLib T2 plus a
                                                        linear term; "compact" quadratic neuron). About 2x.
  'square'   (r.x + b_r)**2                             squared linear form (QuadraLib T3). About 1x. It can
                                                        not start as the linear neuron, so init_scheme='relinear'
                                                        is refused for it.

Parameter names: the linear part is the submodule `linear_r`; every quadratic part lives in a submodule whose
name starts with `quad_` (`quad_g`, `quad_b`, `quad_a`), so optimizers and penalties can pick quadratic
parameters by path with QUADRATIC_PARAM_PATTERN (ReLinear's parameter groups 'g.' and 'b.').

Initialisation (attribute init_scheme):
  'relinear'  the neuron starts as the conventional neuron r.x + b_r: the factor g is zero with bias 1
              ('fan') or zero ('product'), the power term b and c are zero. The linear part uses
              `kernel_init` (the authors use Kaiming-normal for conv_r; flax's default here is LeCun-normal).
  'naive'     every kernel is drawn from `kernel_init` and every bias is zero: the quadratic terms are active
              from the first step (the "naive" training the paper shows collapsing).

Shrinkage (ReLinear's second regulariser, "shrinking quadratic weights"): with shrink_g = alpha and
shrink_b = beta the layer sows alpha * ||W_g||^2 + beta * ||W_b||^2 into the 'losses' collection, which the
training loop adds to the task loss. Only kernels are penalised, not b_g or c (the README's alpha and beta act
on the quadratic weights).
"""

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError

FORMS = ('fan', 'product', 'power', 'square')
INITS = ('relinear', 'naive')
# Matches the '/'-joined path of every quadratic parameter (kernels and biases of the quad_* submodules).
QUADRATIC_PARAM_PATTERN = r'(^|/)quad_[a-z]+/'

Initializer = Callable[..., jax.Array]


class _Quadratic(nn.Module):
  """Shared body of QuadraticDense and QuadraticConv; subclasses say how to build one linear map."""

  features: int
  form: str = 'fan'
  init_scheme: str = 'relinear'
  rank: int = 1
  shrink_g: float = 0.0
  shrink_b: float = 0.0
  kernel_init: Initializer = nn.initializers.lecun_normal()
  dtype: Any = None

  def _linear(self, features: int, name: str, use_bias: bool, kernel_init, bias_init) -> nn.Module:
    raise NotImplementedError

  def _check(self):
    name = type(self).__name__
    if self.form not in FORMS:
      raise ConfigurationError(f'{name}.form={self.form!r} is unknown; choose one of {FORMS}.')
    if self.init_scheme not in INITS:
      raise ConfigurationError(f'{name}.init_scheme={self.init_scheme!r} is unknown; choose one of {INITS}.')
    if self.form == 'square' and self.init_scheme == 'relinear':
      raise ConfigurationError(
        f"{name}.form='square' cannot start as the linear neuron; use init_scheme='naive' or another form."
      )
    if self.features < 1 or self.rank < 1:
      raise ConfigurationError(f'{name}: features={self.features} and rank={self.rank} must be positive.')
    if self.shrink_g < 0 or self.shrink_b < 0:
      raise ConfigurationError(
        f'{name}: shrink_g={self.shrink_g} and shrink_b={self.shrink_b} must be non-negative penalty weights.'
      )

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    self._check()
    zeros, ones = nn.initializers.zeros, nn.initializers.ones
    relinear = self.init_scheme == 'relinear'
    quad_kernel = zeros if relinear else self.kernel_init
    r = self._linear(self.features, 'linear_r', True, self.kernel_init, zeros)(x)
    if self.form == 'square':
      return r * r
    penalty = 0.0
    if self.form == 'fan':
      g_layer = self._linear(self.features, 'quad_g', True, quad_kernel, ones if relinear else zeros)
      b_layer = self._linear(self.features, 'quad_b', True, quad_kernel, zeros)
      y = r * g_layer(x) + b_layer(x * x)
      penalty = self._norm(g_layer, self.shrink_g) + self._norm(b_layer, self.shrink_b)
    elif self.form == 'product':
      width = self.features * self.rank
      a_layer = self._linear(width, 'quad_a', False, self.kernel_init, zeros)
      g_layer = self._linear(width, 'quad_g', False, quad_kernel, zeros)
      prod = a_layer(x) * g_layer(x)
      y = r + prod.reshape(prod.shape[:-1] + (self.features, self.rank)).sum(-1)
      penalty = self._norm(g_layer, self.shrink_g)
    else:  # 'power'
      b_layer = self._linear(self.features, 'quad_b', False, quad_kernel, zeros)
      y = r + b_layer(x * x)
      penalty = self._norm(b_layer, self.shrink_b)
    if self.shrink_g or self.shrink_b:
      self.sow('losses', 'relinear_shrinkage', penalty)
    return y

  @staticmethod
  def _norm(layer: nn.Module, weight: float):
    if not weight:
      return 0.0
    return weight * jnp.sum(jnp.square(layer.variables['params']['kernel']))


class QuadraticDense(_Quadratic):
  """A dense layer of quadratic neurons. Shapes: (..., in) -> (..., features). See the module docstring."""

  def _linear(self, features, name, use_bias, kernel_init, bias_init):
    return nn.Dense(
      features, use_bias=use_bias, kernel_init=kernel_init, bias_init=bias_init, dtype=self.dtype, name=name
    )


class QuadraticConv(_Quadratic):
  """A convolution of quadratic neurons (the ReLinear QResNet's layer without its BatchNorm/ReLU).

  Shapes: (B, H, W, C) -> (B, H', W', features), as flax's nn.Conv with the same kernel_size/strides/padding.
  """

  kernel_size: Sequence[int] = (3, 3)
  strides: Sequence[int] | int = 1
  padding: str | Sequence[tuple[int, int]] = 'SAME'

  def _linear(self, features, name, use_bias, kernel_init, bias_init):
    return nn.Conv(
      features,
      tuple(self.kernel_size),
      strides=self.strides,
      padding=self.padding,
      use_bias=use_bias,
      kernel_init=kernel_init,
      bias_init=bias_init,
      dtype=self.dtype,
      name=name,
    )
