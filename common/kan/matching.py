"""Parameter counts of dense KANs, S-KANs and MLPs, and hidden widths that match one model's count to another's.

A dense stack with input width d and widths (h_1, ..., h_L) has sum_l (h_{l-1} h_l e + h_l) parameters, h_0 = d:
e per edge (1 for an MLP weight; M + 2 for a KAN edge, its coefficients, scale_base and scale_sp; K + 2 + sum_k M_k
for an S-KAN edge, its mixture logits too: common.kan.conv.edge_params) and one bias per node. How the S-KAN
comparison builds its baselines (configs/s_kan/): the single-basis KAN "<basis>_matched" rows and the MLP get
hidden layers of one width h, the h whose count is closest to the S-KAN's (ties to the smaller h).

Gin-facing: `kan_widths` (layers.KAN.widths) and `mlp_hidden` (mlp.MLP.hidden) return the plain widths, or with
match_skan=True the widths matched to the S-KAN of the same hidden widths.
"""

from typing import Sequence

from common.kan import conv
from common.kan.skan import DEFAULT_POOL
from common.train.errors import ConfigurationError

LAYERS = ('mlp', 'kan', 'skan')
MAX_WIDTH = 4096


def edge_params(layer: str, basis: str = 'bspline', pool: Sequence[str] = DEFAULT_POOL, grid_size=5, order=3) -> int:
  """Parameters per edge of a `layer` ('mlp', 'kan' with `basis`, 'skan' with `pool`)."""
  if layer not in LAYERS:
    raise ConfigurationError(f'matching: layer={layer!r} is unknown; choose one of {LAYERS}.')
  if layer == 'mlp':
    return 1
  return conv.edge_params(layer, basis, tuple(pool), grid_size, order)


def dense_params(layer: str, in_dim: int, widths: Sequence[int], **edge) -> int:
  """Parameter count of a dense `layer` stack on `in_dim` inputs with `widths` (hidden + output), without building
  it; `edge` as edge_params (basis, pool, grid_size, order)."""
  per_edge = edge_params(layer, **edge)
  fan_in = (in_dim,) + tuple(widths[:-1])
  return sum(a * b * per_edge + b for a, b in zip(fan_in, widths))


def matched_hidden(target: int, layer: str, in_dim: int, out: int, depth: int, **edge) -> tuple[int, ...]:
  """`depth` hidden layers of one width h (1 <= h <= MAX_WIDTH) whose `layer` stack on in_dim -> out has the
  parameter count closest to `target` (ties to the smaller h)."""
  if depth < 1:
    raise ConfigurationError(f'matching: depth={depth} must be at least 1 hidden layer.')
  count = lambda h: dense_params(layer, in_dim, (h,) * depth + (out,), **edge)  # noqa: E731
  h = min(range(1, MAX_WIDTH + 1), key=lambda h: (abs(count(h) - target), h))
  return (h,) * depth


def _hidden(layer, in_dim, hidden, out, match_skan, depth, basis, pool, grid_size, order, owner) -> tuple[int, ...]:
  hidden = tuple(hidden)
  if in_dim < 1 or out < 1 or not hidden or any(h < 1 for h in hidden):
    raise ConfigurationError(
      f'matching.{owner}: in_dim={in_dim}, hidden={hidden}, out={out} must be positive (hidden non-empty).'
    )
  if not match_skan:
    return hidden
  target = dense_params('skan', in_dim, hidden + (out,), pool=pool, grid_size=grid_size, order=order)
  edge = {'basis': basis, 'pool': pool, 'grid_size': grid_size, 'order': order}
  return matched_hidden(target, layer, in_dim, out, depth or len(hidden), **edge)


def kan_widths(
  *,
  in_dim: int,
  hidden: Sequence[int],
  out: int,
  basis: str = 'bspline',
  match_skan: bool = False,
  depth: int | None = None,
  pool: Sequence[str] = DEFAULT_POOL,
  grid_size: int = 5,
  order: int = 3,
) -> tuple[int, ...]:
  """KAN widths (hidden + (out,)): `hidden` as given, or with match_skan `depth` (default len(hidden)) hidden
  layers of one width matched to the S-KAN with widths hidden + (out,) over `pool` on in_dim inputs."""
  h = _hidden('kan', in_dim, hidden, out, match_skan, depth, basis, pool, grid_size, order, 'kan_widths')
  return h + (out,)


def mlp_hidden(
  *,
  in_dim: int,
  hidden: Sequence[int],
  out: int,
  match_skan: bool = False,
  depth: int | None = None,
  pool: Sequence[str] = DEFAULT_POOL,
  grid_size: int = 5,
  order: int = 3,
) -> tuple[int, ...]:
  """MLP hidden widths: `hidden` as given, or with match_skan `depth` (default len(hidden)) layers of one width
  matched to the S-KAN with widths hidden + (out,) over `pool` on in_dim inputs."""
  return _hidden('mlp', in_dim, hidden, out, match_skan, depth, 'bspline', pool, grid_size, order, 'mlp_hidden')
