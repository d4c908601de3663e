"""A spiking MLP (LIF neurons, surrogate gradients through time) for the spiking HLOP variant.

The image is fed as a constant input current for `num_steps` steps (direct encoding, as in HLOP's DSR/BPTT
scripts; deterministic, so the eval accuracy is not noisy); each hidden layer is nn.Dense -> LIF over time;
the readout is the time-average of the last Dense layer's output (a rate code). Trained by BPTT through
common.spiking's lax.scan LIF with a fast-sigmoid surrogate.

Every nn.Dense here sees (B, T, n) spike trains, so HLOP's lateral neurons (common/continual/activity.py) learn
from the presynaptic spikes of every time step, and the projection acts on those traces, as in the paper
(whose lateral neurons are themselves spiking; ours are rate/real-valued: see common/continual/projection.py).
Shapes: inputs (B, ...) -> logits (B, out).
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.spiking import LIF


class SpikingMLP(nn.Module):
  hidden: Sequence[int] = (256, 256)
  out: int = 10
  num_steps: int = 8
  tau: float = 2.0
  threshold: float = 0.5
  surrogate: str = 'fast_sigmoid'
  slope: float = 5.0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    x = x.reshape((x.shape[0], -1))
    s = jnp.broadcast_to(x[:, None, :], (x.shape[0], self.num_steps, x.shape[1]))
    for i, width in enumerate(self.hidden):
      currents = nn.Dense(width, name=f'dense_{i}')(s)
      s = LIF(tau=self.tau, threshold=self.threshold, surrogate=self.surrogate, slope=self.slope, name=f'lif_{i}')(
        currents, train
      )
    return nn.Dense(self.out, name='head')(s).mean(axis=1)
