"""Trials that differ only in numbers (learning rate, weight decay, Adam's betas, the seed) as ONE program.

  launch --gin_file=E.gin --sweep=S.py --workdir=ROOT --vmap_trials

Every trial keeps its own parameters, optimizer state, seed and data order; they are stacked along a leading
trial axis and one jitted `vmap` of common/train/loop.py's own train step advances all of them at once. The
trial axis is sharded over the available devices when it divides evenly (8 trials on 4 devices: 2 each).

Eligibility is decided with `launch diff`'s effective configs: against trial 0, every changed key must hold a
number on both sides and be the seed, a macro, or a parameter of the optimizer factory (what
`loop.train.optimizer` references). Anything else (a layer width, a dropout rate, the number of steps) changes
the program, not just numbers in it, and the sweep must run as separate trials; the error lists those keys.
The optimizers of the trials are built by the gin config of each trial and picked per trial with lax.switch
inside the step, so any numeric optimizer setting works, at the cost of evaluating every trial's optimizer
update (elementwise, cheap next to the forward and backward passes); their states must have one structure.

Only the standard supervised entry point (common.train.loop.train) is supported. What a vmapped sweep writes
per trial: ROOT/<id>/config/resolved.json (so `launch diff` works on it), trial.json and final_metrics.json.
Not written (unlike a plain trial): checkpoints, metrics.jsonl, TensorBoard events, curves; a vmapped sweep
does not resume midway, it reruns.
"""

import json
import os
import time

from launch import api, artifacts, sweep_report
from launch import diff as diff_lib
from launch import platform as platform_lib
from launch import trials as trials_lib
from launch.errors import UsageError

ENTRY = 'common.train.loop.train'


def check_eligible(opts, trials) -> None:
  """Raises UsageError naming the keys that make the trials more than numerically different."""
  if len(trials) < 2:
    return

  def effective(t):
    prepared = api.prepare(opts.gin_files, list(opts.bindings) + t.bindings, opts.search_paths)
    if prepared.entry_name != ENTRY:
      raise UsageError(f'--vmap_trials supports the entry point {ENTRY}; this experiment runs {prepared.entry_name}.')
    return diff_lib.Side(t.id, diff_lib.effective(prepared.resolved_json['bindings'], root=None, defaults='none'))

  base = effective(trials[0])
  bad = {}
  for t in trials[1:]:
    for c in diff_lib.compare(base, effective(t)):
      kind = (base.entries.get(c['key']) or {}).get('kind')
      numeric = all(
        s is not None and isinstance(s['value'], (int, float)) and not isinstance(s['value'], bool)
        for s in (c['a'], c['b'])
      )
      allowed = numeric and (kind in ('optimizer', 'macro') or c['key'] == f'{ENTRY}.seed')
      if not allowed:
        bad.setdefault(c['key'], (c['a'] and c['a']['text'], c['b'] and c['b']['text'], t.id))
  if bad:
    rows = '\n'.join(
      f'  {k}: {a} (trial {trials[0].id}) vs {b} (trial {tid})' for k, (a, b, tid) in sorted(bad.items())
    )
    raise UsageError(
      'these trials differ in more than numbers the optimizer or the seed read, so they cannot share one vmapped '
      f'program:\n{rows}\nRun the sweep without --vmap_trials, or sweep those keys in an outer loop.'
    )


def build(opts, trials):
  """Per trial, through gin: (model, task, optimizer, num_steps, seed, resolved_json, xla_options)."""
  import gin

  from launch import gin_setup

  built = []
  for t in trials:
    prepared = api.prepare(opts.gin_files, list(opts.bindings) + t.bindings, opts.search_paths)
    gin_setup.parse(prepared.gin_files, prepared.bindings, prepared.search_paths)
    kw = gin.get_bindings(ENTRY)
    tx = kw['optimizer'](kw['num_steps'])  # now, while this trial's bindings are the parsed ones
    num_steps, seed, xla_options = int(kw['num_steps']), int(kw['seed']), kw.get('xla_options')
    built.append((kw['model'], kw['task'], tx, num_steps, seed, prepared.resolved_json, xla_options))
  return built


def switch_optimizer(txs, index):
  """One GradientTransformation that applies txs[index] (a traced int): lax.switch over the trials' optimizers."""
  import jax
  import optax

  if len(txs) == 1:
    return txs[0]
  branches = [lambda g, s, p, tx=tx: tx.update(g, s, p) for tx in txs]
  return optax.GradientTransformation(txs[0].init, lambda g, s, p=None: jax.lax.switch(index, branches, g, s, p))


def prepare_many(model, task, txs, seeds, xla_options=None):
  """The stacked state of len(seeds) trials and the jitted vmapped step that advances all of them.

  `xla_options`: the experiment's loop.train.xla_options (compiler options of the step), checked first.

  Returns (step, state, args): `state, metrics = step(state, *args)` is one optimizer step of every trial.
  """
  import functools

  import jax
  import jax.numpy as jnp
  import numpy as np
  from jax.sharding import Mesh, NamedSharding, PartitionSpec

  from common.train import loop
  from common.train import state as state_lib

  n = len(seeds)
  if len(txs) not in (1, n):
    raise ValueError('give one optimizer for all trials or one per trial')
  roots = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
  streams = [
    jax.vmap(lambda k, i=i: jax.random.fold_in(k, i))(roots) for i in (loop._PARAMS, loop._DATA, loop._DROPOUT)
  ]
  params_keys, data_keys, dropout_keys = streams
  init = functools.partial(state_lib.init_variables, model, task.init_inputs())
  variables = jax.jit(jax.vmap(init))(params_keys)
  opt_states = []
  for i in range(n):
    params_i = jax.tree_util.tree_map(lambda x, i=i: x[i], variables['params'])
    opt_states.append(txs[i if len(txs) > 1 else 0].init(params_i))
  if len({jax.tree_util.tree_structure(s) for s in opt_states}) != 1:
    raise UsageError('the trials build optimizers whose states differ in structure; they cannot be vmapped.')
  state = {
    'step': jnp.zeros((n,), jnp.int32),
    'params': variables['params'],
    'model_state': {k: v for k, v in variables.items() if k != 'params'},
    'opt_state': jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *opt_states),
  }
  index = jnp.arange(n)
  arrays = task.train_arrays()
  devices = jax.devices()
  if len(devices) > 1 and n % len(devices) == 0:  # the trial axis split over the devices
    mesh = Mesh(np.asarray(devices), ('trial',))
    state, data_keys, dropout_keys, index = jax.device_put(
      (state, data_keys, dropout_keys, index), NamedSharding(mesh, PartitionSpec('trial'))
    )
    arrays = jax.device_put(arrays, NamedSharding(mesh, PartitionSpec()))
    print(f'vmapped: the trial axis ({n} trials) is split over {len(devices)} devices', flush=True)
  else:
    arrays = jax.device_put(arrays)

  def one(state, arrays, data_key, dropout_key, i):
    return loop.make_train_step(model, task, switch_optimizer(txs, i))(state, arrays, data_key, dropout_key)

  step = jax.jit(
    jax.vmap(one, in_axes=(0, None, 0, 0, 0)), donate_argnums=(0,), compiler_options=loop.check_xla_options(xla_options)
  )
  return step, state, (arrays, data_keys, dropout_keys, index)


def train_many(
  model, task, txs, seeds, num_steps: int, *, log_every: int = 0, xla_options=None
) -> tuple[list[dict], dict]:
  """Trains len(seeds) trials as one vmapped program; returns per-trial final eval metrics and the stacked state."""
  import jax
  import numpy as np

  from common.train import loop

  step, state, args = prepare_many(model, task, txs, seeds, xla_options)
  for s in range(1, num_steps + 1):
    state, metrics = step(state, *args)
    if log_every and (s % log_every == 0 or s == num_steps):
      loss = np.asarray(metrics['loss'])
      print(f'[vmapped step {s}] loss per trial: {np.array2string(loss, precision=4)}', flush=True)
  options = loop.check_xla_options(xla_options)
  eval_step = jax.jit(jax.vmap(loop.make_eval_step(model, task), in_axes=(0, 0, None)), compiler_options=options)
  sums, total = None, 0.0
  for batch in task.eval_batches():
    metrics, weight = eval_step(state['params'], state['model_state'], batch)
    w = float(np.asarray(weight)[0])
    part = {k: np.asarray(v, np.float64) * w for k, v in metrics.items()}
    sums = part if sums is None else {k: sums[k] + part[k] for k in sums}
    total += w
  finals = [{k: float(v[i] / max(total, 1.0)) for k, v in sums.items()} for i in range(len(seeds))]
  return finals, state


def run(opts, trials, keys) -> int:
  """The --vmap_trials branch of a local sweep."""
  check_eligible(opts, trials)
  root = os.path.abspath(opts.workdir)
  built = build(opts, trials)
  model, task, _, num_steps, _, _, xla_options = built[0]
  txs = [b[2] for b in built]
  seeds = [b[4] for b in built]
  print(f'sweep: {len(trials)} trials as one vmapped program ({num_steps} steps)', flush=True)
  start = time.time()
  finals, _ = train_many(model, task, txs, seeds, num_steps, log_every=max(1, num_steps // 5), xla_options=xla_options)
  seconds = time.time() - start

  for t, b, final in zip(trials, built, finals):
    workdir = trials_lib.workdir(root, t)
    final = {'step': num_steps, **final}
    env = artifacts.environment(b[4], platform_lib.describe())
    artifacts.write_start(
      workdir,
      resolved_gin='# vmapped trial: see resolved.json\n',
      resolved_json=b[5],
      argv=opts.argv or [],
      env=env,
    )
    record = {'index': t.index, 'id': t.id, 'bindings': t.bindings, 'sweep_file': opts.sweep, 'status': 'done'}
    trials_lib.write_json(os.path.join(workdir, 'final_metrics.json'), final)
    trials_lib.write(workdir, {**record, 'final': final, 'seconds': seconds, 'vmapped': True})
    print(f'{t.id}: ' + json.dumps(final, sort_keys=True))
  paths = sweep_report.write(root, trials, keys, opts.metric)
  print(f'results: {", ".join(paths)}')
  return 0
