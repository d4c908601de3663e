"""A one-hidden-layer spiking network whose input synapses carry delays: events -> delayed currents -> LIF -> counts.

  x (B, T, C) --synapses (a delay layer from common/dendritic/delays.py)--> currents (B, T, H)
    --LIF (common/spiking)--> spikes (B, T, H) --mean over time--> rates (B, H) --Dense--> logits (B, out)

The LIF threshold is the non-linearity that makes timing matter: a hidden neuron fires when delayed inputs
coincide. With max_delay = 1 every synapse sees only the current step (the delay-free control).
"""

import flax.linen as nn
import jax

from common.spiking import LIF


class DelaySNN(nn.Module):
  """Attributes:
  synapses: the delay layer (FixedDelayDense, DelayKernelDense or DCLSDelayDense), hidden width = its features.
  out: number of classes.
  tau: LIF membrane time constant (steps); threshold: LIF threshold.
  """

  synapses: nn.Module
  out: int = 8
  tau: float = 5.0
  threshold: float = 1.0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    currents = self.synapses(x, train=train)
    spikes = LIF(tau=self.tau, threshold=self.threshold, name='lif')(currents)
    rates = spikes.mean(axis=1)
    return nn.Dense(self.out, name='head')(rates)
