"""Synchronisation: the CTM's representation, a decayed inner product of post-activation histories.

For a selected neuron pair (i, j) with learnable decay lambda_ij >= 0 and r = exp(-lambda_ij),

  S_ij(t) = sum_{tau<=t} r^(t-tau) z_i(tau) z_j(tau) / sqrt(sum_{tau<=t} r^(t-tau))

computed recurrently: alpha <- r alpha + z_i z_j, beta <- r beta + 1, S = alpha / sqrt(beta). Starting from
alpha = beta = 0 gives the reference's first step (alpha = z_i z_j, beta = 1) without a special case.

Pair selection (`neuron_select_type`):
  'first-last'      out: dense upper triangle of the first n_out neurons; action: of the last n_action neurons.
                    Representation size n(n+1)/2.
  'random'          two random index sets (with replacement, as the reference) and the upper triangle of their
                    outer product. Size n(n+1)/2.
  'random-pairing'  n random neuron pairs, the first n_self of them forced to be self pairs (i, i). Size n.
                    Deviation: pairs drawn from a seed have no repeats (the reference draws with replacement, so a
                    pair can occur twice, which only wastes a slot); hence at most D(D+1)/2 pairs can be drawn.
                    Indices given explicitly (e.g. a reference checkpoint's) may repeat pairs.
A selection is stored as the reference stores its buffers: two index vectors (left, right) of n neurons each
(`select_neurons`); `expand_pairs` turns them into flat pair indices, so the product is z[:, left] * z[:, right].
"""

import jax
import jax.numpy as jnp
import numpy as np

from common.train.errors import ConfigurationError

SELECT_TYPES = ('first-last', 'random', 'random-pairing')


def synch_size(select_type: str, n_synch: int) -> int:
  """Length of the synchronisation vector for `n_synch` selected neurons (or pairs)."""
  if select_type == 'random-pairing':
    return n_synch
  return n_synch * (n_synch + 1) // 2


def validate(select_type: str, d_model: int, n_out: int, n_action: int, n_self: int, explicit: bool = False) -> None:
  """Raises ConfigurationError naming the parameter when the selection cannot be made.

  explicit: the indices are given (not drawn), so random-pairing may ask for more pairs than distinct ones exist.
  """
  if select_type not in SELECT_TYPES:
    raise ConfigurationError(f'neuron_select_type={select_type!r} is unknown; choose one of {SELECT_TYPES}.')
  if n_out < 1:
    raise ConfigurationError(f'n_synch_out={n_out} must be at least 1 (the output is read from it).')
  if n_action < 0:
    raise ConfigurationError(f'n_synch_action={n_action} must be non-negative.')
  if select_type == 'first-last' and n_out + n_action > d_model:
    raise ConfigurationError(
      f'n_synch_out + n_synch_action = {n_out} + {n_action} exceeds d_model={d_model}: first-last uses disjoint '
      'neuron sets. Lower n_synch_out/n_synch_action or raise d_model.'
    )
  if select_type == 'random':
    for name, n in (('n_synch_out', n_out), ('n_synch_action', n_action)):
      if n > d_model:
        raise ConfigurationError(f'{name}={n} exceeds d_model={d_model} neurons available to random selection.')
  if select_type == 'random-pairing':
    available = d_model * (d_model + 1) // 2
    for name, n in (('n_synch_out', n_out), ('n_synch_action', n_action)):
      if n > available and not explicit:
        raise ConfigurationError(
          f'{name}={n} exceeds the {available} distinct neuron pairs of d_model={d_model}; lower {name}.'
        )
    if n_self < 0 or n_self > min(n_out, d_model):
      raise ConfigurationError(
        f'n_random_pairing_self={n_self} must be between 0 and min(n_synch_out={n_out}, d_model={d_model}).'
      )
    if n_action and n_self > n_action:
      raise ConfigurationError(
        f'n_random_pairing_self={n_self} exceeds n_synch_action={n_action}; lower n_random_pairing_self.'
      )


def _random_pairs(rng: np.random.Generator, d_model: int, n: int, n_self: int) -> tuple[np.ndarray, np.ndarray]:
  selfs = rng.choice(d_model, size=n_self, replace=False)
  chosen = {(int(i), int(i)) for i in selfs}
  pairs = [(int(i), int(i)) for i in selfs]
  available = d_model * (d_model + 1) // 2
  if n > available // 2:  # dense request: enumerate the remaining pairs and draw from them
    rest = [(i, j) for i in range(d_model) for j in range(i, d_model) if (i, j) not in chosen]
    for k in rng.choice(len(rest), size=n - n_self, replace=False):
      pairs.append(rest[int(k)])
  else:
    while len(pairs) < n:
      i, j = (int(v) for v in rng.integers(0, d_model, size=2))
      key = (min(i, j), max(i, j))
      if key not in chosen:
        chosen.add(key)
        pairs.append((i, j))
  arr = np.asarray(pairs, dtype=np.int32).reshape(-1, 2)
  return arr[:, 0], arr[:, 1]


def select_neurons(
  select_type: str, d_model: int, n_synch: int, kind: str, n_self: int = 0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
  """The (left, right) neuron indices of one readout, n_synch each (int32), like the reference's buffers
  `{kind}_neuron_indices_left/right`; `kind` is 'out' or 'action'. Deterministic in `seed` (numpy).

  random-pairing: the pairs themselves. first-last / random: the two neuron sets whose outer product's upper
  triangle is synchronised (`expand_pairs`).
  """
  rng = np.random.default_rng([seed, 0 if kind == 'out' else 1])
  if select_type == 'random-pairing':
    return _random_pairs(rng, d_model, n_synch, n_self)
  if select_type == 'first-last':
    side = np.arange(n_synch) if kind == 'out' else np.arange(d_model - n_synch, d_model)
    left = right = side
  else:
    left = rng.choice(d_model, size=n_synch)
    right = rng.choice(d_model, size=n_synch)
  return left.astype(np.int32), right.astype(np.int32)


def expand_pairs(select_type: str, left, right):
  """Per-side indices (n,) -> flat pair indices (synch_size,): the upper triangle of the outer product for
  first-last and random (reference: outer[:, triu_indices]), the pairs themselves for random-pairing. Works on
  numpy and jax arrays."""
  if select_type == 'random-pairing':
    return left, right
  iu, ju = np.triu_indices(left.shape[0])
  return left[iu], right[ju]


def select_pairs(
  select_type: str, d_model: int, n_synch: int, kind: str, n_self: int = 0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
  """Flat (left, right) neuron indices, each of length synch_size(select_type, n_synch); `kind` is 'out'/'action'.

  Deterministic in `seed` (numpy), so the default selection is a function of the configuration.
  """
  return expand_pairs(select_type, *select_neurons(select_type, d_model, n_synch, kind, n_self, seed))


def check_indices(name: str, indices, n_synch: int, d_model: int) -> np.ndarray:
  """Explicit per-side indices -> int32 array, or ConfigurationError naming `name` if the length or a value is off."""
  arr = np.asarray(indices)
  if arr.shape != (n_synch,) or not np.issubdtype(arr.dtype, np.integer):
    raise ConfigurationError(
      f'neuron_indices[{name!r}] has shape {arr.shape} and dtype {arr.dtype}; it must be {n_synch} integers '
      f'(n_synch for that readout).'
    )
  if arr.size and (arr.min() < 0 or arr.max() >= d_model):
    raise ConfigurationError(
      f'neuron_indices[{name!r}] holds {int(arr.min())}..{int(arr.max())}; neuron indices must lie in '
      f'[0, d_model={d_model}).'
    )
  return arr.astype(np.int32)


# Above this many entries per selection matrix, pair products gather instead of multiplying by one-hot matrices.
ONE_HOT_LIMIT = 1 << 22


def selectors(d_model: int, left: np.ndarray, right: np.ndarray, columns: bool = False):
  """What `pair_products` needs for a selection: one-hot (D, P) matrices or the index vectors.

  Batch-major (B, D): one-hot matrices when small. On CPU the gradient of a gather along the minor axis is a
  scatter-add that XLA runs as a slow serial loop inside the tick scan; a (B, D) x (D, P) matmul with a 0/1 matrix
  costs less for the sizes of every CPU config here.
  columns=True ((D, B), the CTM tick's layout): always indices. The gather then picks whole contiguous rows and its
  scatter-add gradient adds whole rows; in a per-op profile of the parity-16 training step this beat the one-hot
  matmuls.
  """
  if not columns and d_model * len(left) <= ONE_HOT_LIMIT:
    eye = np.eye(d_model, dtype=np.float32)
    return jnp.asarray(eye[:, left]), jnp.asarray(eye[:, right])
  return jnp.asarray(left), jnp.asarray(right)


def pair_products(z: jax.Array, left: jax.Array, right: jax.Array, columns: bool = False) -> jax.Array:
  """(B, D) post-activations -> (B, P) products z_left * z_right; left/right from `selectors` (or indices).

  columns=True: z is (D, B) and the result (P, B) (the CTM tick's layout, common/ctm/columns.py).
  """
  if left.ndim == 2:  # one-hot selectors: batch-major only (selectors() gives indices for columns)
    return (z @ left.astype(z.dtype)) * (z @ right.astype(z.dtype))
  axis = 0 if columns else -1
  return jnp.take(z, left, axis=axis) * jnp.take(z, right, axis=axis)


def update(alpha: jax.Array, beta: jax.Array, pp: jax.Array, r: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """One recurrent step; returns (S, alpha, beta)."""
  alpha = r * alpha + pp
  beta = r * beta + 1.0
  return alpha * jax.lax.rsqrt(beta), alpha, beta


def clamp_decay(decay: jax.Array, lo: float = 0.0, hi: float = 15.0) -> jax.Array:
  """Decay rates clamped to [lo, hi] in the forward pass with an identity gradient.

  The reference clamps the stored parameter in place (`.data`, issue #5), so the clamp never blocks gradients. A
  straight-through clamp gives the same forward values and gradients inside a pure function; the stored value can
  leave [0, 15], but the model only ever sees the clamped one.
  """
  return decay + jax.lax.stop_gradient(jnp.clip(decay, lo, hi) - decay)
