"""The S-KAN comparison as one entry point: every task x every model x several seeds, vmapped over seeds.

For each task (function-fitting formulas from common.data.synthetic.function_fitting, or 'digits') and each model
(a single-basis KAN per basis name, 'skan' with the three-phase schedule, 'mlp' with two hidden layers matched to the
S-KAN's parameter count) the seeds train side by side as one jitted program (jax.vmap over the seed's keys, lax.scan
over steps), so a full table takes minutes on a CPU. The S-KAN schedule is common.kan.skan's: full -> keep top
`keep_top` spaces per edge -> prune to one, with a fresh Adam per phase and masks from skan.apply_selection.

Writes <workdir>/results.json, results.md (mean +- std over seeds, params) and results.png; returns a flat dict.
"""

import json
import os
import time
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.data import pipeline
from common.data.synthetic import function_fitting
from common.kan import bases as bases_lib
from common.kan import fast_init
from common.kan import skan as skan_lib
from common.kan.layers import KAN
from common.models.mlp import MLP
from common.train import state as state_lib
from common.train.errors import ConfigurationError


def _data(task: str, seed: int):
  if task == 'digits':
    ds = pipeline.load_tfds('sklearn_digits', scale=1 / 16)
    flat = lambda a: {'inputs': a['inputs'].reshape(len(a['inputs']), -1), 'targets': a['targets']}  # noqa: E731
    return flat(ds.train), flat(ds.eval), 'classification', 10
  ds = function_fitting.make_dataset(task, num_train=1000, num_eval=1000, seed=seed)
  return ds.train, ds.eval, 'regression', 1


def _mlp_width(d: int, out: int, target: int) -> int:
  return min(range(1, 2048), key=lambda h: abs(d * h + h + h * h + h + h * out + out - target))


MATCHED = '_matched'  # model-name suffix: the single-basis KAN widened to the S-KAN's parameter count


def _build(name: str, d: int, out: int, hidden: Sequence[int], grid_size: int, pool, skan_params: int):
  widths = tuple(hidden) + (out,)
  if name == 'skan':
    return skan_lib.SKAN(widths=widths, pool=tuple(pool), grid_size=grid_size)
  if name == 'mlp':
    h = _mlp_width(d, out, skan_params)
    return MLP(hidden=(h, h), out=out, act='silu')
  if name.endswith(MATCHED):  # a single-basis KAN [d, h, out] with h chosen to match the S-KAN's parameter count
    basis = name[: -len(MATCHED)]
    per_edge = bases_lib.get_basis(basis, param='compare.models').num_basis(grid_size, 3) + 2  # coef, scales
    h = max(1, round((skan_params - out) / ((d + out) * per_edge + 1)))
    return KAN(widths=(h, out), basis=basis, grid_size=grid_size)
  return KAN(widths=widths, basis=name, grid_size=grid_size)


def _loss(kind: str, out, y):
  if kind == 'regression':
    return jnp.mean(jnp.sum((out - y) ** 2, -1))
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(out, y))


def _metric(kind: str, out, y):
  if kind == 'regression':
    return jnp.sqrt(jnp.mean(jnp.sum((out - y) ** 2, -1)))
  return jnp.mean(jnp.argmax(out, -1) == y)


def _cosine(learning_rate: float, count, decay_steps):
  """optax.cosine_decay_schedule(learning_rate, decay_steps)(count), with a traced decay_steps."""
  count = jnp.minimum(count, decay_steps)
  return learning_rate * (0.5 * (1 + jnp.cos(jnp.pi * count / decay_steps)))


def _trainer(model, kind, train, test, *, steps: Sequence[int], batch_size, learning_rate, keep_top, granularity):
  """(init(key) -> variables, train(variables, key) -> final test metric) for one seed; `steps` per phase.

  One lax.scan over all steps (one compiled body, not one per phase): at the first step of phase 1 (2) the S-KAN
  masks narrow to the top `keep_top` (1) spaces and Adam restarts, and the learning rate is a cosine decay over
  each phase's own length, which is optax.adam(cosine_decay_schedule(lr, n)) restarted per phase.
  """
  x_tr, y_tr = jnp.asarray(train['inputs']), jnp.asarray(train['targets'])
  x_te, y_te = jnp.asarray(test['inputs']), jnp.asarray(test['targets'])
  if kind == 'regression':
    y_tr, y_te = y_tr.reshape(len(y_tr), -1), y_te.reshape(len(y_te), -1)
  n = x_tr.shape[0]
  starts = np.concatenate([[0], np.cumsum(steps)[:-1]]).astype(np.int32)  # first global step of each phase
  adam = optax.scale_by_adam()

  def init(key):
    return state_lib.init_variables(model, x_tr[:2], jax.random.fold_in(key, 0))

  def train_one(variables, key):
    params, rest = variables['params'], {k: v for k, v in variables.items() if k != 'params'}

    def body(carry, i):
      params, rest, opt = carry
      phase = jnp.sum(i >= jnp.asarray(starts)) - 1
      if len(steps) > 1:  # S-KAN: narrow the masks and restart Adam where a phase begins
        for p, keep in ((1, keep_top), (2, 1)):
          begin = i == starts[p]
          narrowed = skan_lib.apply_selection({'params': params, **rest}, keep, granularity)
          rest = jax.tree_util.tree_map(lambda a, b, c=begin: jnp.where(c, a, b), {k: narrowed[k] for k in rest}, rest)
          opt = jax.tree_util.tree_map(lambda a, b, c=begin: jnp.where(c, a, b), adam.init(params), opt)
      t = i - jnp.asarray(starts)[phase]
      idx = jax.random.randint(jax.random.fold_in(jax.random.fold_in(key, 10 + phase), t), (batch_size,), 0, n)
      grads = jax.grad(lambda p: _loss(kind, model.apply({'params': p, **rest}, x_tr[idx]), y_tr[idx]))(params)
      updates, opt = adam.update(grads, opt, params)
      lr = _cosine(learning_rate, t.astype(jnp.float32), jnp.asarray(steps, jnp.float32)[phase])
      updates = jax.tree_util.tree_map(lambda u: -lr * u, updates)
      return (optax.apply_updates(params, updates), rest, opt), None

    (params, rest, _), _ = jax.lax.scan(body, (params, rest, adam.init(params)), jnp.arange(sum(steps)))
    return _metric(kind, model.apply({'params': params, **rest}, x_te), y_te)

  return init, train_one


def run(
  *,
  tasks: Sequence[str],
  models: Sequence[str] = ('bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat', 'skan', 'mlp'),
  num_seeds: int = 5,
  num_steps: int = 2000,
  batch_size: int = 128,
  learning_rate: float = 1e-2,
  hidden: Sequence[int] = (5,),
  grid_size: int = 5,
  pool: Sequence[str] = skan_lib.DEFAULT_POOL,
  phase_fractions: Sequence[float] = (0.5, 0.25, 0.25),
  keep_top: int = 2,
  granularity: str = 'edge',
  max_models: int | None = None,
  seed: int,
  workdir: str,
  dry_run: bool = False,
) -> dict[str, Any]:
  """Trains every (task, model) for num_seeds seeds (seed, seed+1, ...) and tabulates the test metric.

  max_models (smoke runs; configs bind it to the MAX_VARIANTS macro that configs/base/cpu_debug.gin sets) keeps
  only that many models: 'skan', the model under test, first, then the others in order.
  """
  if num_seeds < 1 or num_steps < 3:
    raise ConfigurationError(f'compare.run: num_seeds={num_seeds} must be >= 1 and num_steps={num_steps} >= 3.')
  skan_lib._check_schedule(phase_fractions, keep_top, granularity, len(pool))
  if max_models is not None:
    if max_models < 1:
      raise ConfigurationError(f'compare.run: max_models={max_models} must be at least 1 (or None for all).')
    models = ([m for m in models if m == 'skan'] + [m for m in models if m != 'skan'])[:max_models]
  results, flat = {}, {}
  for task in tasks:
    train, test, kind, out = _data(task, seed)
    d = train['inputs'].shape[-1]
    probe = _build('skan', d, out, hidden, grid_size, pool, 0)
    shapes = jax.eval_shape(lambda m=probe, d=d: state_lib.init_variables(m, jnp.zeros((2, d)), jax.random.PRNGKey(0)))
    skan_params = state_lib.count_params(shapes['params'])
    for name in models:
      model = _build(name, d, out, hidden, grid_size, pool, skan_params)
      shapes = jax.eval_shape(
        lambda m=model, d=d: state_lib.init_variables(m, jnp.zeros((2, d)), jax.random.PRNGKey(0))
      )
      n_params = state_lib.count_params(shapes['params'])
      if dry_run:
        print(task, name, n_params)
        flat[f'{task}/{name}/num_params'] = n_params
        continue
      steps = skan_lib.phase_steps(num_steps, phase_fractions) if name == 'skan' else [num_steps]
      init, train_one = _trainer(
        model,
        kind,
        train,
        test,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        keep_top=keep_top,
        granularity=granularity,
      )
      keys = jax.vmap(lambda s: jax.random.PRNGKey(s))(jnp.arange(seed, seed + num_seeds))
      t0 = time.perf_counter()
      variables = fast_init.run_init(jax.vmap(init), keys)
      values = np.asarray(jax.jit(jax.vmap(train_one))(variables, keys), np.float64)
      secs = time.perf_counter() - t0
      metric = 'rmse' if kind == 'regression' else 'accuracy'
      results.setdefault(task, {})[name] = {
        'metric': metric,
        'values': values.tolist(),
        'mean': float(values.mean()),
        'std': float(values.std()),
        'num_params': n_params,
        'seconds': secs,
      }
      flat[f'{task}/{name}/{metric}'] = float(values.mean())
      print(
        f'{task:24s} {name:12s} {metric}={values.mean():.4g} +- {values.std():.2g} params={n_params} ({secs:.0f}s)',
        flush=True,
      )
    if not dry_run:
      _write(results, models, num_seeds, workdir)  # after every task, so a cut-short run keeps what it finished
  return flat


def _write(results, models, num_seeds, workdir) -> None:
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, 'results.json'), 'w') as f:
    json.dump(results, f, indent=2)
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write(table(results, models, num_seeds))
  plot(results, models, os.path.join(workdir, 'results.png'))


def table(results, models, num_seeds) -> str:
  """The main table (single bases at hidden width 5, S-KAN, MLP) and, when run, the parameter-matched one."""
  plain = [m for m in models if not m.endswith(MATCHED)]
  matched = [m for m in models if m.endswith(MATCHED)]
  lines = [
    f'Test metric, mean +- std over {num_seeds} seeds (RMSE: lower is better; accuracy: higher). Params in brackets.',
    '',
    '| task | ' + ' | '.join(plain) + ' | S-KAN <= best single? | S-KAN < MLP? |',
    '|---|' + '---|' * (len(plain) + 2),
  ]
  cell = lambda r: f'{r["mean"]:.3g} +- {r["std"]:.1g} ({r["num_params"]})'  # noqa: E731
  verdict = lambda ok: 'yes' if ok else 'no'  # noqa: E731
  for task, row in results.items():
    sign = 1.0 if row[next(iter(row))]['metric'] == 'rmse' else -1.0
    singles = [sign * row[m]['mean'] for m in plain if m not in ('skan', 'mlp') and m in row]
    best = verdict('skan' in row and singles and sign * row['skan']['mean'] <= min(singles))
    vs_mlp = verdict('skan' in row and 'mlp' in row and sign * row['skan']['mean'] < sign * row['mlp']['mean'])
    cells = ' | '.join(cell(row[m]) if m in row else '-' for m in plain)
    lines.append(f'| {task} | {cells} | {best} | {vs_mlp} |')
  if matched:
    lines += [
      '',
      "Single-basis KANs widened to the S-KAN's parameter count (hidden width h chosen per task), same seeds:",
      '',
      '| task | skan | ' + ' | '.join(matched) + ' | S-KAN <= best matched single? |',
      '|---|---|' + '---|' * (len(matched) + 1),
    ]
    for task, row in results.items():
      if 'skan' not in row or not any(m in row for m in matched):
        continue
      sign = 1.0 if row['skan']['metric'] == 'rmse' else -1.0
      best = verdict(sign * row['skan']['mean'] <= min(sign * row[m]['mean'] for m in matched if m in row))
      cells = ' | '.join(cell(row[m]) if m in row else '-' for m in matched)
      lines.append(f'| {task} | {cell(row["skan"])} | {cells} | {best} |')
  return '\n'.join(lines) + '\n'


def plot(results, models, path) -> None:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, len(results), figsize=(3.2 * len(results), 3.2), squeeze=False)
  for ax, (task, row) in zip(axes[0], results.items()):
    names = [m for m in models if m in row]
    ax.bar(range(len(names)), [row[m]['mean'] for m in names], yerr=[row[m]['std'] for m in names])
    ax.set_xticks(range(len(names)), names, rotation=60, fontsize=7)
    ax.set_title(task, fontsize=8)
    if row[names[0]]['metric'] == 'rmse':
      ax.set_yscale('log')
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)
