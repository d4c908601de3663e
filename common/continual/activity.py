"""Presynaptic activity of every nn.Dense layer of any linen model, captured without changing the model.

Weight-space projections (HLOP, the SVD oracle) need the inputs x of each Dense layer: its kernel gradient is
x^T delta, so projecting x projects the update. `dense_inputs` runs the model under `nn.intercept_methods` and
records the input of each Dense call, keyed by the module path (the same path as the layer's params).

Leading axes are flattened: a Dense applied to (B, T, n) spike trains contributes B*T rows of n, the
presynaptic traces of every time step (what the HLOP paper projects for spiking networks).
A constant 1 is appended to every row: the bias is the weight of an always-on input, so a layer's
(kernel; bias) of shape (n+1, m) is projected as one matrix.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


def layer_name(path) -> str:
  return '/'.join(str(p) for p in path)


def dense_inputs(model, variables, inputs, *, train: bool = False, with_bias: bool = True) -> dict[str, jax.Array]:
  """Returns {layer_name: (rows, n_in [+1])} for each nn.Dense call of `model.apply(variables, inputs)`.

  A layer called several times (weight sharing, time steps unrolled in Python) concatenates its rows.
  """
  recorded: dict[str, list] = {}

  def interceptor(next_fun, args, kwargs, context):
    if isinstance(context.module, nn.Dense) and context.method_name == '__call__':
      x = args[0]
      x = x.reshape((-1, x.shape[-1]))
      if with_bias:
        x = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)
      recorded.setdefault(layer_name(context.module.path), []).append(x)
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(interceptor):
    model.apply(variables, inputs, train=train)
  return {k: jnp.concatenate(v, axis=0) if len(v) > 1 else v[0] for k, v in recorded.items()}


def get_layer(params, name: str):
  """The params subtree of a layer name produced by dense_inputs."""
  node = params
  for part in name.split('/'):
    node = node[part]
  return node
