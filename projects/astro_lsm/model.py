"""A liquid state machine as a Flax model: Poisson-coded images -> LIF reservoir (lax.scan) -> linear read-out.

The reservoir is not trained by gradients: its weights, STDP traces and wiring live in the 'reservoir' collection
(model state: checkpointed, carried across steps, changed only by plasticity). Plasticity runs in two places, as in
the NALSM (Ivanov & Michmizos 2021):
  - between optimizer steps, the unsupervised shaping of the liquid by STDP or astrocyte-modulated STDP
    (projects/astro_lsm/plasticity.py, a loop.train after_step hook; the paper's 'initialisation' over 50,000
    20-ms snapshots, weights carried from one sample to the next);
  - optionally within every presentation (`plasticity`, e.g. the paper's astro-STDP with rate_decay 0.99): each
    example then changes its own copy of the weights (vmap), which starts from the shared weights and is dropped
    after the sample. This costs one weight copy per example, so the CPU configs leave it off.
Only the read-out (a Dense layer on the normalised spike counts) has parameters.

Outputs are a dict: 'logits' (B, classes), 'reservoir_rate' and 'input_rate' (mean spikes per neuron per step), and
in evaluation 'branching_factor' (the authors' estimator, mean over the batch; 0 where no spike was countable) and
'branching_counted' (the fraction of examples where it was defined). Training passes skip the branching factor.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.homeostatic import astro
from common.homeostatic import lif_reservoir as lsm

RESERVOIR = 'reservoir'


@functools.lru_cache(maxsize=4)
def network(cfg: lsm.LSMConfig, input_dim: int, seed: int) -> dict:
  """The numpy wiring (cached: init and the plasticity hook build the same network once)."""
  return lsm.build_network(cfg, input_dim, seed)


RESERVOIR_NAMES = ('weights', 'trace', 'pre', 'valid', 'lo', 'hi', 'inhibitory')


def reservoir_variables(cfg: lsm.LSMConfig, input_dim: int, seed: int) -> dict:
  """The 'reservoir' collection: the synapse slots (N, K) weights, pre (int32), valid, lo, hi; per neuron (M,) the
  STDP trace and inhibitory (0/1)."""
  net = network(cfg, input_dim, seed)
  out = {k: jnp.asarray(net[k]) for k in ('weights', 'pre', 'valid', 'lo', 'hi')}
  out['trace'] = jnp.zeros(len(net['inhibitory']), jnp.float32)
  out['inhibitory'] = jnp.asarray(net['inhibitory'], jnp.float32)
  return out


def as_net(res: dict) -> dict:
  """The arrays lif_reservoir.simulate reads, from the 'reservoir' collection."""
  return {k: res[k] for k in ('pre', 'valid', 'lo', 'hi')} | {'inhibitory': res['inhibitory'] > 0}


def reservoir_mask(res: dict, n: int) -> jax.Array:
  """(N, N) reservoir wiring (post x pre) from the slots, for the branching factor."""
  rows = jnp.broadcast_to(jnp.arange(n)[:, None], res['pre'].shape)
  return jnp.zeros((n, res['inhibitory'].shape[0])).at[rows, res['pre']].add(res['valid'])[:, :n]


class LiquidStateMachine(nn.Module):
  """Images (B, ...) -> {'logits', 'reservoir_rate', 'input_rate', ['branching_factor', 'branching_counted']}.

  Attributes:
    reservoir: the LIF liquid (common.homeostatic.lif_reservoir.LSMConfig).
    plasticity: plasticity within each presentation (PlasticityConfig; mode 'none' = the frozen liquid).
    num_steps: presentation length in steps (ms; the paper: 250).
    input_rate: expected input events per step per image (lif_reservoir.input_probabilities).
    num_classes: read-out width. network_seed: the wiring's seed. eval_seed: the Poisson seed of evaluation passes.
    window, buffer: the branching-factor estimator's window and edge buffer (steps; the paper: 4 and 25).
  """

  reservoir: lsm.LSMConfig = lsm.LSMConfig()
  plasticity: astro.PlasticityConfig = astro.PlasticityConfig(mode='none')
  num_steps: int = 100
  input_rate: float = 8.0
  num_classes: int = 10
  network_seed: int = 0
  eval_seed: int = 0
  window: int = 4
  buffer: int = 25

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> dict:
    input_dim = int(x[0].size)
    initial = functools.partial(reservoir_variables, self.reservoir, input_dim, self.network_seed)
    res = {name: self.variable(RESERVOIR, name, lambda n=name: initial()[n]).value for name in RESERVOIR_NAMES}
    net = as_net(res)
    key = self.make_rng('dropout') if train and self.has_rng('dropout') else jax.random.PRNGKey(self.eval_seed)
    events = lsm.poisson_events(key, lsm.input_probabilities(x, self.input_rate), self.num_steps)

    def one(ev):
      plastic = lsm.Plastic(res['weights'], jnp.zeros_like(res['trace']), astro.initial_rates(self.plasticity))
      return lsm.present(self.reservoir, self.plasticity, net, plastic, ev)[1]

    spikes = jax.lax.stop_gradient(jax.vmap(one)(events))  # (B, T, M)
    n = self.reservoir.size
    feats = lsm.spike_count_features(spikes, n)
    out = {
      'logits': nn.Dense(self.num_classes, name='readout')(feats),
      'reservoir_rate': jnp.mean(spikes[..., :n]),
      'input_rate': jnp.mean(spikes[..., n:]),
    }
    if not train:
      mask = reservoir_mask(res, n)
      sigma = jax.vmap(lambda s: lsm.branching_factor(s[:, :n], mask, self.window, self.buffer)[0])(spikes)
      counted = jnp.isfinite(sigma)
      out['branching_factor'] = jnp.sum(jnp.where(counted, sigma, 0.0)) / jnp.maximum(jnp.sum(counted), 1)
      out['branching_counted'] = jnp.mean(counted.astype(jnp.float32))
    return out
