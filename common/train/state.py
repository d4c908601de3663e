"""Model initialisation, the train state and a parameter table.

The train state is a plain dict pytree so orbax can save and restore it without registration:
  {'step': int32 scalar, 'params': ..., 'model_state': {collection: ...}, 'opt_state': ...}
`model_state` holds every non-parameter variable collection a model keeps across steps (batch statistics,
duty cycles, ...). The collection 'losses' is reserved for auxiliary loss terms a module `sow`s; it is
recomputed each step and never stored.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

AUX_LOSS_COLLECTION = 'losses'


def init_variables(model, inputs, key: jax.Array) -> dict[str, Any]:
  """Calls `model.init` with 'params' and 'dropout' streams derived from `key`."""
  params_key, dropout_key = jax.random.split(key)
  variables = model.init({'params': params_key, 'dropout': dropout_key}, inputs, train=False)
  return {k: v for k, v in dict(variables).items() if k != AUX_LOSS_COLLECTION}


def create_state(variables, optimizer) -> dict[str, Any]:
  params = variables['params']
  model_state = {k: v for k, v in variables.items() if k != 'params'}
  return {
    'step': jnp.zeros((), jnp.int32),
    'params': params,
    'model_state': model_state,
    'opt_state': optimizer.init(params),
  }


def count_params(tree) -> int:
  return int(sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(tree)))


def param_table(params, max_depth: int = 2) -> str:
  """A table of parameter counts and shapes grouped by module path (up to `max_depth` levels)."""
  rows: dict[str, list] = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    names = [getattr(p, 'key', getattr(p, 'name', str(p))) for p in path]
    module = '/'.join(str(n) for n in names[:-1][:max_depth]) or '(root)'
    entry = rows.setdefault(module, [0, []])
    entry[0] += int(np.prod(leaf.shape))
    entry[1].append(f'{names[-1]}{tuple(leaf.shape)}')
  total = sum(n for n, _ in rows.values())
  width = max([len(m) for m in rows] + [6])
  lines = [f'{"module":<{width}}  {"params":>12}  shapes', f'{"-" * width}  {"-" * 12}  ------']
  for module, (n, shapes) in rows.items():
    shown = ', '.join(shapes[:4]) + (', ...' if len(shapes) > 4 else '')
    lines.append(f'{module:<{width}}  {n:>12,}  {shown}')
  lines.append(f'{"total":<{width}}  {total:>12,}')
  return '\n'.join(lines)
