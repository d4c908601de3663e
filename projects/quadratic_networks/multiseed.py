"""Train one configuration on many seeds at once: the training step of common/train/loop.py, scanned over
steps and vmapped over seeds, so a 10-seed sweep point is one compiled program (the results script needs
hundreds of short runs, and launching each as its own process would cost more than the training itself).

A single run of the same configuration is the gin file in configs/quadratic_networks/ run by `launch`; this
module only batches seeds. Streams follow loop.train: params fold_in(seed, 0), data fold_in(seed, 1),
dropout fold_in(seed, 2).
"""

import jax
import jax.numpy as jnp
import numpy as np

from common.train import loop
from common.train import state as state_lib


def train_seeds(model, task, tx, num_steps: int, seeds) -> dict[str, np.ndarray]:
  """Trains `model` on `task` with `tx` for each seed; returns final eval metrics, one entry per seed.

  Returns a dict of arrays of shape (num_seeds,): the task's eval metrics on the whole eval split, plus
  'finite' (1.0 when every parameter is finite at the end) and 'final_train_loss' (mean of the last 10 steps).
  """
  arrays = jax.device_put(task.train_arrays())
  eval_set = {k: jnp.asarray(v) for k, v in task.data.eval.items()}
  eval_set['weight'] = jnp.ones(len(eval_set['inputs']), jnp.float32)
  step_fn = loop.make_train_step(model, task, tx)

  def one(seed):
    root = jax.random.PRNGKey(seed)
    params_key, data_key, dropout_key = (jax.random.fold_in(root, i) for i in range(3))
    state = state_lib.create_state(state_lib.init_variables(model, task.init_inputs(), params_key), tx)

    def body(state, _):
      state, metrics = step_fn(state, arrays, data_key, dropout_key)
      return state, metrics['loss']

    state, losses = jax.lax.scan(body, state, None, length=num_steps)
    outputs = model.apply({'params': state['params'], **state['model_state']}, eval_set['inputs'], train=False)
    _, metrics = task.loss(outputs, eval_set)
    finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(state['params'])]))
    return {**metrics, 'finite': finite.astype(jnp.float32), 'final_train_loss': jnp.mean(losses[-10:])}

  out = jax.jit(jax.vmap(one))(jnp.asarray(seeds, jnp.int32))
  return {k: np.asarray(v) for k, v in out.items()}
