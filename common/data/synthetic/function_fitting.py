"""Function-fitting datasets: the toy formulas of the KAN paper and a few smooth targets.

Each target maps x of shape (N, d) with entries in [-1, 1] (unless `input_range` says otherwise) to y of
shape (N, 1). Data are drawn uniformly with a seeded numpy generator, so a dataset is a pure function of
(name, seed, sizes).
"""

from typing import Callable

import numpy as np

from common.data.pipeline import ArrayDataset

# name -> (input dimension, function of x (N, d) -> y (N,))
FORMULAS: dict[str, tuple[int, Callable[[np.ndarray], np.ndarray]]] = {
  # KAN paper, toy examples (Liu et al. 2024, Sec. 3.1).
  'bessel_j0': (1, lambda x: _bessel_j0(20.0 * x[:, 0])),
  'exp_sin_plus_square': (2, lambda x: np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)),
  'xy': (2, lambda x: x[:, 0] * x[:, 1]),
  'exp_mean_sin_square_100d': (
    100,
    lambda x: np.exp(np.mean(np.sin(np.pi * x / 2.0) ** 2, axis=1)),
  ),
  'exp_sin4': (
    4,
    lambda x: np.exp(
      0.5 * (np.sin(np.pi * (x[:, 0] ** 2 + x[:, 1] ** 2)) + np.sin(np.pi * (x[:, 2] ** 2 + x[:, 3] ** 2)))
    ),
  ),
  # Extra smooth and oscillatory 1-D/2-D targets used by the S-KAN comparisons.
  'sin_pi': (1, lambda x: np.sin(np.pi * x[:, 0])),
  'gaussian_bump': (2, lambda x: np.exp(-4.0 * (x[:, 0] ** 2 + x[:, 1] ** 2))),
  'tanh_step': (1, lambda x: np.tanh(10.0 * x[:, 0])),
  'poly_cubic': (2, lambda x: x[:, 0] ** 3 - 2.0 * x[:, 0] * x[:, 1] ** 2 + 0.5 * x[:, 1]),
}


def _bessel_j0(x: np.ndarray) -> np.ndarray:
  from scipy.special import j0

  return j0(x)


def input_dim(name: str) -> int:
  return _lookup(name)[0]


def _lookup(name: str):
  if name not in FORMULAS:
    raise ValueError(f'Unknown function-fitting target {name!r}; choose one of {sorted(FORMULAS)}.')
  return FORMULAS[name]


def make_dataset(
  name: str,
  *,
  num_train: int = 1000,
  num_eval: int = 1000,
  seed: int = 0,
  input_range: tuple[float, float] = (-1.0, 1.0),
  noise_std: float = 0.0,
) -> ArrayDataset:
  """Samples train and eval sets for a named formula: {'inputs': (N, d) float32, 'targets': (N, 1) float32}."""
  dim, fn = _lookup(name)
  rng = np.random.default_rng(seed)
  lo, hi = input_range

  def draw(n):
    x = rng.uniform(lo, hi, size=(n, dim)).astype(np.float64)
    y = fn(x)
    if noise_std:
      y = y + noise_std * rng.standard_normal(y.shape)
    return {'inputs': x.astype(np.float32), 'targets': y.astype(np.float32)[:, None]}

  return ArrayDataset(train=draw(num_train), eval=draw(num_eval), name=f'function_fitting/{name}')
