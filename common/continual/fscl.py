"""Few-shot continual learning with a pair of fast and slow weights (Wang, Li, Zhong & Zhu 2021, arXiv 2104.09034).

The seed abstract gives the mechanism in words: fast and slow weights updated interdependently, "inspired by the
biological model of meta-plasticity and fast / slow synapse", and a two-step consolidation that learns the task
sequence "without forgetting in the fast weights" and improves generalisation "without overfitting in the slow
weights". The research notes (seeds_catalog 1.6.2) flag the exact losses as unverified. This learner implements
that reading, and every choice below is ours, not the paper's:

  fast weights theta_F  the model's parameters (what the trainer optimises and evaluates on seen tasks);
  slow weights theta_S  learner state, initialised to theta_F.

  Step 1 (fast, during task t: metaplasticity). Loss = task loss + lambda/2 * sum_i Omega_i (theta_F,i -
    theta*_i)^2, with theta* the fast weights at the end of task t-1 and Omega the accumulated importance of the
    finished tasks (Omega <- gamma Omega + I_t). A synapse's plasticity falls with its importance to earlier
    tasks. importance='fisher': I_t = the diagonal empirical Fisher (online EWC, which FastSlow extends);
    importance='mas': I_t = E_x |d ||f(x)||^2 / d theta| over the task's inputs, f the task's (masked) logits
    (Aljundi et al. 2018, memory aware synapses). Why both: a few-shot task is fitted to ~zero loss, so its
    empirical Fisher (squared gradients of the log-likelihood of the training labels) vanishes and the penalty
    with it (measured on the digits protocol: penalties ~1e-8 at strength 100); the output sensitivity does not
    depend on the labels or the loss and stays informative.
  Step 2 (slow, at the end of task t: consolidation from the fast weights). theta_S <- theta_S + beta (theta_F -
    theta_S): a Reptile-style meta-update (Nichol et al. 2018), i.e. the slow weights move a fraction beta toward
    each task's solution and become an initialisation from which every task is a few steps away, without
    fitting any one task's few examples.
  Interdependence. With restart='slow', task t+1's fast weights start from the slow weights (the first optimizer
    step of the task sets theta_F <- theta_S instead of taking a gradient step), and the penalty of step 1 pulls
    the important synapses back toward theta*: the unimportant ones keep the generalising slow values. With
    restart='none' the fast weights continue from theta* and the slow weights only serve new tasks.
  Few-shot generalisation. `generalization_params` returns the slow weights: common.continual.few_shot.FewShotProbe
    learns held-out tasks from them (from the trained weights for every other learner).

beta = 1 with importance='fisher' is online EWC exactly (the slow weights equal the fast ones, restarts do nothing).
"""

import dataclasses

import jax
import jax.numpy as jnp
import optax

from common.continual import streams as streams_lib
from common.continual.regularizers import EWC
from common.train.errors import ConfigurationError

tmap = jax.tree_util.tree_map
RESTARTS = ('slow', 'none')
IMPORTANCES = ('fisher', 'mas')


def output_sensitivity(model, params, model_state, batch) -> dict:
  """MAS importance: mean over examples of |d ||masked logits||^2 / d theta|, a tree like params."""

  def squared_norm(p, example):
    logits = model.apply({'params': p, **model_state}, example['inputs'][None], train=False)[0]
    return jnp.sum(jnp.where(example['mask'], logits, 0.0) ** 2)

  grads = jax.vmap(jax.grad(squared_norm), in_axes=(None, 0))(params, batch)
  return tmap(lambda g: jnp.mean(jnp.abs(g), axis=0), grads)


def fast_restart() -> optax.GradientTransformationExtraArgs:
  """Post-optimizer transform: where the extra arg fast_restart=(flag, target) has flag set, the update becomes
  target - params (the step moves the weights onto target); otherwise updates pass unchanged."""

  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None, *, fast_restart=None, **extra):
    del extra
    if fast_restart is None:
      return updates, state
    flag, target = fast_restart
    return tmap(lambda u, p, t: jnp.where(flag, t - p, u), updates, params, target), state

  return optax.GradientTransformationExtraArgs(init, update)


@dataclasses.dataclass
class FastSlow(EWC):
  """Fast weights with metaplastic consolidation, slow weights consolidated from them (module docstring).

  Attributes (plus EWC's strength, decay, fisher_examples for step 1):
    slow_rate: beta, the fraction of the way the slow weights move toward each finished task's fast weights.
    restart: 'slow' (each task's fast weights start from the slow weights) or 'none'.
    importance: 'fisher' (online EWC) or 'mas' (output sensitivity); fisher_examples examples per estimate.
  """

  slow_rate: float = 0.5
  restart: str = 'slow'
  importance: str = 'fisher'

  name = 'fast_slow'
  needs_boundaries = True

  def __post_init__(self):
    super().__post_init__()
    if not 0.0 < self.slow_rate <= 1.0:
      raise ConfigurationError(f'FastSlow.slow_rate={self.slow_rate} must lie in (0, 1].')
    if self.restart not in RESTARTS:
      raise ConfigurationError(f'FastSlow.restart={self.restart!r} must be one of {RESTARTS}.')
    if self.importance not in IMPORTANCES:
      raise ConfigurationError(f'FastSlow.importance={self.importance!r} must be one of {IMPORTANCES}.')

  def init(self, params, stream, key):
    state = super().init(params, stream, key)
    return {**state, 'slow': tmap(jnp.copy, params), 'restart': jnp.zeros((), bool)}

  def post_transformation(self):
    return fast_restart() if self.restart == 'slow' else None

  def transform_args(self, state) -> dict:
    return {'fast_restart': (state['restart'], state['slow'])} if self.restart == 'slow' else {}

  def after_step(self, state, grads, old_params, new_params):
    return {**state, 'restart': jnp.zeros((), bool)}

  def end_task(self, state, *, model, params, model_state, arrays, task, key):
    if self.importance == 'fisher':
      consolidated = super().end_task(
        state, model=model, params=params, model_state=model_state, arrays=arrays, task=task, key=key
      )
    else:
      n = min(self.fisher_examples, streams_lib.task_capacity(arrays))
      batch = streams_lib.sample_task_batch(arrays, key, 0, task, n)
      gain = output_sensitivity(model, params, model_state, batch)
      consolidated = {
        'anchor': tmap(jnp.copy, params),
        'fisher': tmap(lambda old, new: self.decay * old + new, state['fisher'], gain),
      }
    slow = tmap(lambda s, f: s + self.slow_rate * (f - s), state['slow'], params)
    return {**consolidated, 'slow': slow, 'restart': jnp.asarray(self.restart == 'slow')}

  def generalization_params(self, state, params):
    return state['slow']

  def diagnostics(self, state) -> dict:
    """Distance between the slow weights and the last task's fast weights (the anchor)."""
    sq = tmap(lambda s, a: jnp.sum((s - a) ** 2), state['slow'], state['anchor'])
    return {'slow_fast_distance': jnp.sqrt(sum(jax.tree_util.tree_leaves(sq)))}
