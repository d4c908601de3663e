"""Two-dimensional classification and regression sets for expressivity comparisons (quadratic vs linear neurons).

  'rings'       concentric rings, class = ring index mod num_classes: radii 1, 2, ..., num_rings (scaled to
                [-1, 1]), Gaussian radial noise. Quadratic decision boundaries (circles) separate them exactly.
  'gaussian_mixture'  a grid x grid checkerboard of isotropic Gaussian blobs; a blob's class alternates
                like the colours of a chess board (XOR generalised), so no single linear form separates them.
  'poly_quartic'  regression on [-1, 1]^2: y = (x0^2 - x1^2)^2 + x0 x1 - 0.5 x1 (degree 4: two stacked
                quadratic layers represent it exactly).

Every set is a pure function of (name, seed, sizes): {'inputs': (N, 2) float32, 'targets': (N,) int32 for
classification or (N, 1) float32 for regression}.
"""

import numpy as np

from common.data.pipeline import ArrayDataset
from common.train.errors import ConfigurationError

NAMES = ('rings', 'gaussian_mixture', 'poly_quartic')


def _rings(rng, n, num_rings, num_classes, noise):
  ring = rng.integers(0, num_rings, n)
  radius = (ring + 1 + noise * rng.standard_normal(n)) / num_rings
  angle = rng.uniform(0.0, 2.0 * np.pi, n)
  x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
  return x, (ring % num_classes).astype(np.int32)


def _gaussian_mixture(rng, n, grid, noise):
  cell = rng.integers(0, grid, (n, 2))
  centres = (cell + 0.5) / grid * 2.0 - 1.0
  x = centres + noise * (2.0 / grid) * rng.standard_normal((n, 2))
  return x, (cell.sum(axis=1) % 2).astype(np.int32)


def _poly_quartic(rng, n, noise):
  x = rng.uniform(-1.0, 1.0, (n, 2))
  y = (x[:, 0] ** 2 - x[:, 1] ** 2) ** 2 + x[:, 0] * x[:, 1] - 0.5 * x[:, 1]
  return x, (y + noise * rng.standard_normal(n))[:, None]


def load(
  name: str,
  *,
  num_train: int = 1000,
  num_eval: int = 1000,
  seed: int = 0,
  noise: float = 0.1,
  num_rings: int = 4,
  num_classes: int = 2,
  grid: int = 4,
) -> ArrayDataset:
  """Samples train and eval sets of the named 2-D task (see the module docstring).

  Args:
    name: one of NAMES.
    num_train, num_eval: set sizes.
    seed: the data seed (eval uses an independent stream of the same generator).
    noise: rings: radial std in ring spacings; gaussian_mixture: blob std in cell widths; poly: target noise.
    num_rings, num_classes: rings only. grid: gaussian_mixture only (grid x grid blobs).
  """
  if name not in NAMES:
    raise ConfigurationError(f'shapes2d.load.name={name!r} is unknown; choose one of {NAMES}.')
  if num_train < 1 or num_eval < 1:
    raise ConfigurationError(f'shapes2d.load: num_train={num_train} and num_eval={num_eval} must be positive.')
  if not noise >= 0:
    raise ConfigurationError(f'shapes2d.load.noise={noise} must be >= 0.')
  rng = np.random.default_rng(seed)

  def draw(n):
    if name == 'rings':
      x, y = _rings(rng, n, num_rings, num_classes, noise)
    elif name == 'gaussian_mixture':
      x, y = _gaussian_mixture(rng, n, grid, noise)
    else:
      x, y = _poly_quartic(rng, n, noise)
    return {'inputs': x.astype(np.float32), 'targets': y.astype(np.float32 if y.ndim == 2 else np.int32)}

  return ArrayDataset(train=draw(num_train), eval=draw(num_eval), name=f'shapes2d/{name}')
