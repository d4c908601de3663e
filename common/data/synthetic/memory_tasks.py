"""N-parity and N-delayed-match-to-sample (N-DMS) on binary streams (Khajehabdollahi, Zeraati et al., ICLR 2024).

A stream of bits b_1..b_M is read one bit per step; the label is read at the end:
  N-parity  (sum of the last N bits) mod 2
  N-DMS     1 if b_{M-N+1} == b_M (the bit N-1 steps before the last equals the last), else 0
Several N at once (the multi-head curriculum) give one label per N: targets (B, len(ns)).

Sampling, as the authors' code: a parity stream draws its own p ~ U(0, 1) and then i.i.d. Bernoulli(p) bits (an
unbalanced stream); a DMS stream uses p = 1/2 (a correlated stream would make one class very likely). The length
M is drawn once per batch, uniform on [N_max + 2, 4 N_max + 1].

Static shapes: every batch is (B, L, 1) with L = 4 N_max + 1 (so one compiled step serves every batch). A batch of
length M < L starts with L - M leading zero steps; since every label depends only on the last N_max bits and
M >= N_max + 2, leading zeros never change a label. (The authors instead feed a shorter tensor.)

All functions are traceable and a batch is a pure function of its key.
"""

from typing import Sequence

import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError

TASKS = ('parity', 'dms')


def check_ns(ns: Sequence[int], *, param: str = 'ns') -> tuple[int, ...]:
  """Validated tuple of N values (each >= 1, at least one)."""
  ns = tuple(int(n) for n in ns)
  if not ns or min(ns) < 1:
    raise ConfigurationError(f'{param}={ns} must be a non-empty list of memory lengths N >= 1.')
  return ns


def sequence_length(ns: Sequence[int]) -> int:
  """The static stream length L = 4 max(N) + 1 (the longest M the sampler draws)."""
  return 4 * max(ns) + 1


def parity_labels(bits: jax.Array, n: int) -> jax.Array:
  """(B, L) bits in {0, 1} -> (B,) int32: sum of the last n bits mod 2."""
  return (jnp.sum(bits[:, -n:], axis=1).astype(jnp.int32)) % 2


def dms_labels(bits: jax.Array, n: int) -> jax.Array:
  """(B, L) bits -> (B,) int32: 1 where the bit n-1 steps before the last equals the last (n = 1 is always 1)."""
  return (bits[:, -n] == bits[:, -1]).astype(jnp.int32)


LABELS = {'parity': parity_labels, 'dms': dms_labels}


def bit_streams(key: jax.Array, task: str, batch: int, length: int) -> jax.Array:
  """(batch, length) float32 bits: Bernoulli(p) with p ~ U(0, 1) per stream for parity, p = 1/2 for DMS."""
  if task not in TASKS:
    raise ConfigurationError(f'task={task!r} is unknown; choose one of {TASKS}.')
  k_p, k_b = jax.random.split(key)
  p = jax.random.uniform(k_p, (batch, 1)) if task == 'parity' else jnp.full((batch, 1), 0.5)
  return (jax.random.uniform(k_b, (batch, length)) < p).astype(jnp.float32)


def memory_batch(key: jax.Array, task: str, ns: Sequence[int], batch: int, variable_length: bool = True) -> dict:
  """A batch {'inputs': (B, L, 1) float32 bits, 'targets': (B, len(ns)) int32, 'length': () int32}.

  With variable_length the stream has M ~ U{N_max + 2, ..., L} real bits after L - M leading zeros (see module
  docstring); otherwise M = L.
  """
  ns = check_ns(ns)
  length = sequence_length(ns)
  k_len, k_bits = jax.random.split(key)
  bits = bit_streams(k_bits, task, batch, length)
  if variable_length:
    m = jax.random.randint(k_len, (), max(ns) + 2, length + 1)
    bits = jnp.where(jnp.arange(length)[None, :] >= length - m, bits, 0.0)
  else:
    m = jnp.int32(length)
  targets = jnp.stack([LABELS[task](bits, n) for n in ns], axis=1)
  return {'inputs': bits[..., None], 'targets': targets, 'length': m.astype(jnp.int32)}
