"""Need-based regulation of the learning rate (Man, Damasio & Neven 2022, "Need is All You Need").

The learner's own learning rate eta is the vulnerable internal variable. Every stimulus (class) carries a
valence: excitatory (+1: eta += lr_step), inhibitory (-1: eta -= lr_step) or neutral (0). As in the authors'
release (kingsonman/homeostatic-neural-networks, lrh.py), at a decision point the learner

  1. guesses the class of the current sample with its current weights;
  2. simulates two weight updates with the gradient accumulated so far in the batch: "leave it" (eta) and
     "take it" (eta + lr_step * valence[guess], floored);
  3. scores both simulated networks by accuracy on its memory of the last `memory` samples;
  4. takes the stimulus only if "take it" scores strictly higher, and then eta moves by the valence of the
     *true* class (a wrong guess pushes eta the wrong way: the "skin in the game");
  5. eta below zero is reset to lr_floor.

The batch's weight update then uses the (possibly changed) eta: params -= eta * mean gradient.

Baselines from the same release: 'random' (lrr.py) takes the stimulus with probability 1/2 at each decision
point, without simulating; 'constant' never changes eta.

Decision points: the authors decide at every sample index i (within the epoch) with i % decision_interval == 0
and i > memory; with their batch size 10 = decision_interval this is the first sample of every batch, so the
"gradient accumulated so far" is that one sample's gradient, divided by the batch size. Here a decision is made
at the first sample of a batch when some index in the batch is a multiple of decision_interval (identical for
batch_size == decision_interval; otherwise at most one decision per batch, at its first sample). The 'random'
baseline uses the same decision points; the release's lrr.py also decides during the first `memory` samples of
an epoch (2 of 143 decision points per digits epoch), which this port skips.
"""

import dataclasses
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import optax

from common.train.errors import ConfigurationError

MODES = ('homeostatic', 'random', 'constant')


def split_valence(num_classes: int) -> tuple[int, ...]:
  """The authors' valence map: classes >= num_classes // 2 excitatory (+1), the rest inhibitory (-1)."""
  return tuple(1 if c >= num_classes // 2 else -1 for c in range(num_classes))


@dataclasses.dataclass(frozen=True)
class NeedRegulation:
  """Configuration of the learning-rate regulation (validated at construction).

  Attributes:
    mode: 'homeostatic' (the seed's method), 'random' (LRR baseline) or 'constant'.
    num_classes: number of classes the valence map must cover.
    valence: class -> +1 (excitatory), -1 (inhibitory) or 0; a sequence of length num_classes or a mapping
      with every class as a key. None: split_valence(num_classes) (the authors' labels >= 5 excite).
    lr_init: eta at the start (authors: 1e-3).
    lr_step: the size of one valence effect; None: lr_init / 10 (authors).
    lr_floor: the value eta is reset to when it falls below zero (authors: 1e-8); must be positive.
    decision_interval: samples between decision points (authors: 10).
    memory: how many recent samples score the simulated updates (authors: 20).
  """

  mode: str = 'homeostatic'
  num_classes: int = 10
  valence: Sequence[int] | Mapping[int, int] | None = None
  lr_init: float = 1e-3
  lr_step: float | None = None
  lr_floor: float = 1e-8
  decision_interval: int = 10
  memory: int = 20

  def __post_init__(self):
    if self.mode not in MODES:
      raise ConfigurationError(f'NeedRegulation.mode={self.mode!r} is unknown; choose one of {MODES}.')
    if self.num_classes < 2:
      raise ConfigurationError(f'NeedRegulation.num_classes={self.num_classes} must be at least 2.')
    for name in ('lr_init', 'lr_floor'):
      value = getattr(self, name)
      if not value > 0:
        raise ConfigurationError(f'NeedRegulation.{name}={value} must be positive (a learning-rate bound).')
    if self.lr_step is not None and not self.lr_step >= 0:
      raise ConfigurationError(f'NeedRegulation.lr_step={self.lr_step} must be >= 0 (None: lr_init / 10).')
    if self.decision_interval < 1 or self.memory < 1:
      raise ConfigurationError(
        f'NeedRegulation: decision_interval={self.decision_interval} and memory={self.memory} must be positive.'
      )
    object.__setattr__(self, 'valence', self._valence_tuple())

  def _valence_tuple(self) -> tuple[int, ...]:
    v = self.valence
    if v is None:
      return split_valence(self.num_classes)
    if isinstance(v, Mapping):
      missing = [c for c in range(self.num_classes) if c not in v]
      extra = [c for c in v if not (isinstance(c, int) and 0 <= c < self.num_classes)]
      if missing or extra:
        raise ConfigurationError(
          f'NeedRegulation.valence misses classes {missing} (or names unknown ones {extra}); give every class '
          f'0..{self.num_classes - 1} a valence in {{-1, 0, +1}}.'
        )
      v = [v[c] for c in range(self.num_classes)]
    v = tuple(int(x) for x in v)
    if len(v) != self.num_classes:
      raise ConfigurationError(
        f'NeedRegulation.valence has {len(v)} entries but num_classes={self.num_classes}: a class is missing its '
        'valence; give one of -1, 0, +1 per class.'
      )
    if any(x not in (-1, 0, 1) for x in v):
      raise ConfigurationError(f'NeedRegulation.valence={v}: every entry must be -1, 0 or +1.')
    return v

  @property
  def step_size(self) -> float:
    return self.lr_init / 10 if self.lr_step is None else self.lr_step


def _floor(reg: NeedRegulation, eta):
  return jnp.where(eta < 0, reg.lr_floor, eta)


def _accuracy(apply_fn, params, inputs, labels):
  return jnp.mean(jnp.argmax(apply_fn(params, inputs), -1) == labels)


def regulate(
  reg: NeedRegulation,
  apply_fn: Callable,
  params,
  eta: jax.Array,
  first_grad,
  guess: jax.Array,
  label: jax.Array,
  memory_inputs: jax.Array,
  memory_labels: jax.Array,
  decide: jax.Array,
  batch_size: int,
  key: jax.Array,
) -> tuple[jax.Array, jax.Array]:
  """One decision point. Returns (new eta, whether the stimulus was taken).

  Args:
    apply_fn: (params, inputs) -> logits.
    first_grad: the gradient accumulated in the batch up to the decision sample (a pytree like params).
    guess, label: the learner's guess and the true (current) class of the decision sample (int scalars).
    memory_inputs, memory_labels: the last `reg.memory` samples, labels as currently valid: (M, ...), (M,).
    decide: whether this is a decision point (bool scalar); if not, eta is returned unchanged.
    batch_size: m; simulated updates step by eta / m * first_grad, as the weight update does.
    key: randomness of the 'random' mode.
  """
  valence = jnp.asarray(reg.valence, jnp.float32)
  step = reg.step_size
  eta_true = _floor(reg, eta + step * valence[label])
  if reg.mode == 'constant':
    return eta, jnp.zeros((), bool)
  if reg.mode == 'random':
    take = decide & (jax.random.uniform(key) > 0.5)
    return jnp.where(take, eta_true, eta), take

  def simulate(lr):
    sim = jax.tree_util.tree_map(lambda p, g: p - lr / batch_size * g, params, first_grad)
    return _accuracy(apply_fn, sim, memory_inputs, memory_labels)

  leave = simulate(eta)
  take_it = simulate(_floor(reg, eta + step * valence[guess]))
  take = decide & (take_it > leave)
  return jnp.where(take, eta_true, eta), take


def per_sample_grads(apply_fn: Callable, params, inputs: jax.Array, labels: jax.Array):
  """Softmax cross-entropy gradients of each sample: a pytree like params with a leading (m,) axis."""

  def loss(p, x, y):
    logits = apply_fn(p, x[None])[0]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y)

  return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, inputs, labels)
