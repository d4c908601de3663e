"""Train a delay SNN with the standard loop, then measure accuracy under magnitude pruning of the input synapses.

`run` = common.train.loop.train(...) followed by: restore the final checkpoint, keep the largest-magnitude
fraction f of the delay layer's weights ('synapses/kernel': per synapse for fixed/DCLS delays, per (delay,
synapse) for the HD-SNN kernel), zero the rest, and evaluate, for every f in `keep_fractions`. The pruning
results are added to the final metrics as 'accuracy_keep_<f>' and written to pruning.json.
"""

import jax
import jax.numpy as jnp

from common.train import loop
from common.train.errors import ConfigurationError


def prune_kernel(kernel: jax.Array, keep: float) -> jax.Array:
  """Zeroes all but the round(keep * size) largest-magnitude entries (at least one)."""
  flat = jnp.abs(kernel).reshape(-1)
  k = max(1, round(keep * flat.size))
  threshold = jax.lax.top_k(flat, k)[0][-1]
  return jnp.where(jnp.abs(kernel) >= threshold, kernel, 0.0)


def run(
  *,
  model,
  task,
  optimizer,
  num_steps: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  keep_fractions=(1.0, 0.5, 0.2, 0.1, 0.05, 0.01),
  **loop_kwargs,
) -> dict:
  """loop.train plus the pruning sweep; extra keyword arguments go to loop.train (cadences)."""
  for f in keep_fractions:
    if not 0.0 < f <= 1.0:
      raise ConfigurationError(f'keep_fractions contains {f}; every fraction must be in (0, 1].')
  finals = loop.train(
    model=model,
    task=task,
    optimizer=optimizer,
    num_steps=num_steps,
    seed=seed,
    workdir=workdir,
    dry_run=dry_run,
    **loop_kwargs,
  )
  if dry_run:
    return finals
  eval_step = jax.jit(loop.make_eval_step(model, task))
  batches = task.eval_batches()

  def analyse(state, final, member_dir):
    pruning = {}
    for f in keep_fractions:
      params = jax.tree_util.tree_map(lambda x: x, state['params'])
      params['synapses'] = dict(params['synapses'])
      params['synapses']['kernel'] = prune_kernel(params['synapses']['kernel'], f)
      pruned = {**state, 'params': params}
      pruning[f'accuracy_keep_{f:g}'] = loop.evaluate(eval_step, pruned, batches)['accuracy']
    return pruning, {'pruning.json': {k: float(v) for k, v in pruning.items()}}

  return loop.analyse_trained(
    finals, analyse, model=model, task=task, optimizer=optimizer, num_steps=num_steps, seed=seed, workdir=workdir
  )
