"""Unsupervised shaping of the liquid between optimizer steps: a loop.train `after_step` hook.

The NALSM's 'initialisation' (Ivanov & Michmizos 2021; NALSM_CONSTRUCTOR_MNIST.run_W_DENSE_initialization_loop,
read, not copied) presents training images one after another for 20 steps each, from rest, with STDP (LSM+STDP) or
astrocyte-modulated STDP (NALSM) on every reservoir and input synapse; the weights and STDP traces carry over from
one image to the next, the astrocyte and the rates restart at every image. It runs before the read-out is trained,
on 50,000 images. Here `ReservoirPlasticity` does the same on the first `samples_per_step` images of each training
batch, for the optimizer steps 1..until_step, inside the jitted step; afterwards the liquid is frozen and the
read-out keeps training on it. (The read-out therefore also sees the liquid while it changes; the authors train it
only afterwards. A loop with a separate plasticity phase would remove that difference.)
"""

import dataclasses

import jax
import jax.numpy as jnp

from common.homeostatic import astro
from common.homeostatic import lif_reservoir as lsm
from common.train.errors import ConfigurationError
from projects.astro_lsm.model import RESERVOIR, LiquidStateMachine, as_net


@dataclasses.dataclass
class ReservoirPlasticity:
  """after_step(state, batch, key) -> state: plasticity on the liquid of `model` for steps 1..until_step.

  Attributes:
    model: the LiquidStateMachine being trained (its reservoir and input_rate are used).
    plasticity: the rule (mode 'stdp' or 'astro'; rate_decay 1 as the authors' initialisation).
    until_step: the last optimizer step with plasticity (0 = never).
    samples_per_step: images of each batch presented per step, one after another.
    sample_steps: steps (ms) per image (the paper: 20).
  """

  model: LiquidStateMachine
  plasticity: astro.PlasticityConfig = astro.PlasticityConfig(mode='astro')
  until_step: int = 100
  samples_per_step: int = 4
  sample_steps: int = 20

  def __post_init__(self):
    if self.until_step < 0 or self.samples_per_step < 1 or self.sample_steps < 1:
      raise ConfigurationError(
        f'ReservoirPlasticity.until_step={self.until_step}, samples_per_step={self.samples_per_step}, '
        f'sample_steps={self.sample_steps}: need until_step >= 0 and the other two >= 1.'
      )

  def shape(self, reservoir: dict, images: jax.Array, key: jax.Array) -> dict:
    """The 'reservoir' collection after presenting `images` (K, ...) in order with plasticity."""
    m = self.model
    events = lsm.poisson_events(key, lsm.input_probabilities(images, m.input_rate), self.sample_steps)
    net = as_net(reservoir)

    def body(plastic, ev):
      return lsm.present(m.reservoir, self.plasticity, net, plastic, ev)[0], None

    start = lsm.Plastic(reservoir['weights'], reservoir['trace'], astro.initial_rates(self.plasticity))
    plastic, _ = jax.lax.scan(body, start, events)
    return {**reservoir, 'weights': plastic.weights, 'trace': plastic.trace}

  def __call__(self, state: dict, batch: dict, key: jax.Array) -> dict:
    if self.plasticity.mode == 'none' or self.until_step == 0:
      return state
    reservoir = state['model_state'][RESERVOIR]
    images = batch['inputs'][: self.samples_per_step]
    reservoir = jax.lax.cond(
      state['step'] <= self.until_step, lambda r: self.shape(r, images, key), lambda r: r, reservoir
    )
    return {**state, 'model_state': {**state['model_state'], RESERVOIR: reservoir}}


def mean_abs_weight(reservoir: dict) -> jax.Array:
  """Mean |w| over existing synapses (a summary of how far plasticity moved the liquid)."""
  return jnp.sum(jnp.abs(reservoir['weights'])) / jnp.maximum(jnp.sum(reservoir['valid']), 1.0)
