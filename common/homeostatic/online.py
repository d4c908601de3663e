"""Online learning under concept shift with need-based learning-rate regulation (the seed's protocol).

One epoch is a pass over the training set in a seeded random order, in batches of `batch_size` samples
(authors: 10). Each batch: the learner guesses every sample (online training accuracy), the regulation of
common/homeostatic/need.py may change eta at the batch's first sample, then plain SGD updates the weights with
eta times the mean cross-entropy gradient. Concept shift swaps the labels of two random classes (train and
eval alike) `swaps` times per epoch, evenly spaced over its batches (the authors swap whenever the sample
counter is a multiple of num_train // swaps, which is the same spacing up to rounding). A seasonal schedule
varies the number of swaps per epoch: round(swaps_per_epoch + seasonal_amplitude * sin(2 pi epoch /
seasonal_period)), at least 0 (the paper's "dynamically changing rates of concept shift").

`train` is the gin entry point (the contract of common.train.loop.train), a short loop on the run engine
(common/train/engine.py: checkpoints per epoch, metrics, the NaN stop, vmapped seeds); `make_epoch_fn` is the pure,
jittable epoch it runs.
"""

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from common.data.pipeline import ArrayDataset
from common.homeostatic.need import NeedRegulation, per_sample_grads, regulate
from common.train import engine
from common.train import state as state_lib
from common.train.errors import ConfigurationError

# fold_in stream ids (stable): parameters, data order, concept shift, random regulation.
_PARAMS, _ORDER, _SHIFT, _REGULATE = 0, 1, 2, 3
# Per-epoch metrics whose running sums the entry point keeps in its state (checkpointed, so a resumed run still
# averages over every epoch): the paper's measure is the accuracy averaged over all epochs of the shifting stream.
EPOCH_MEANS = {'online_accuracy': 'mean_online_accuracy', 'accuracy': 'mean_accuracy', 'lr_mean': 'mean_lr'}


def swaps_in_epoch(epoch, swaps_per_epoch: float, seasonal_amplitude: float, seasonal_period: float):
  """Number of label swaps in `epoch` (0-based): constant, or varying sinusoidally (seasonal shift)."""
  rate = swaps_per_epoch + seasonal_amplitude * jnp.sin(2.0 * jnp.pi * epoch / seasonal_period)
  return jnp.maximum(jnp.round(rate), 0).astype(jnp.int32)


def _swap_two(perm: jax.Array, key: jax.Array) -> jax.Array:
  """Swaps the current labels of two distinct random classes: perm maps original class -> current label."""
  a, b = jax.random.choice(key, perm.shape[0], (2,), replace=False)
  return jnp.where(perm == a, b, jnp.where(perm == b, a, perm))


def init_state(model, regulation: NeedRegulation, example_inputs, key) -> dict[str, Any]:
  params = state_lib.init_variables(model, example_inputs, jax.random.fold_in(key, _PARAMS))['params']
  return {
    'params': params,
    'eta': jnp.asarray(regulation.lr_init, jnp.float32),
    'perm': jnp.arange(regulation.num_classes, dtype=jnp.int32),
  }


def make_epoch_fn(model, regulation: NeedRegulation, data: ArrayDataset, batch_size: int, num_batches: int) -> Callable:
  """Returns epoch_fn(state, key, epoch, num_swaps) -> (state, metrics), pure and jittable.

  Args:
    model: flax module mapping inputs (B, ...) to logits (B, num_classes).
    regulation: the learning-rate regulation.
    data: train split trains online; eval split is scored with the labels valid at the end of the epoch.
    batch_size: m (authors: 10).
    num_batches: batches in this epoch (a full epoch is num_train // batch_size; fewer for a partial one).
  Metrics: online_accuracy (guesses before each update), accuracy (eval), lr_mean, lr_final, takes, swaps.
  """
  x_train, y_train = jnp.asarray(data.train['inputs']), jnp.asarray(data.train['targets'])
  x_eval, y_eval = jnp.asarray(data.eval['inputs']), jnp.asarray(data.eval['targets'])
  num_train = x_train.shape[0]
  if num_batches * batch_size > num_train:
    raise ConfigurationError(f'{num_batches} batches of {batch_size} exceed the {num_train} training samples.')
  m, memory, interval = batch_size, regulation.memory, regulation.decision_interval
  apply_fn = lambda p, x: model.apply({'params': p}, x, train=False)  # noqa: E731
  full_batches = num_train // batch_size

  def epoch_fn(state, key, epoch, num_swaps):
    epoch_key = jax.random.fold_in(key, epoch)
    order = jax.random.permutation(jax.random.fold_in(epoch_key, _ORDER), num_train)

    def batch_step(carry, j):
      params, eta, perm = carry
      start = j * m
      idx = jax.lax.dynamic_slice(order, (start,), (m,))
      x, y = x_train[idx], perm[y_train[idx]]
      guesses = jnp.argmax(apply_fn(params, x), -1)
      grads = per_sample_grads(apply_fn, params, x, y)
      first_grad = jax.tree_util.tree_map(lambda g: g[0], grads)
      mem_idx = jax.lax.dynamic_slice(order, (jnp.maximum(start - memory, 0),), (memory,))
      boundary = (start + m - 1) // interval > (start - 1) // interval  # an index in the batch is a multiple
      decide = (start > memory) & boundary
      eta, took = regulate(
          regulation, apply_fn, params, eta, first_grad, guesses[0], y[0], x_train[mem_idx],
          perm[y_train[mem_idx]], decide, m, jax.random.fold_in(jax.random.fold_in(epoch_key, _REGULATE), j),
      )  # fmt: skip
      params = jax.tree_util.tree_map(lambda p, g: p - eta * jnp.mean(g, 0), params, grads)
      # Evenly spaced swaps: one after batch j whenever floor(k * swaps / full_batches) steps up.
      swap_now = ((j + 1) * num_swaps) // full_batches > (j * num_swaps) // full_batches
      swapped = _swap_two(perm, jax.random.fold_in(jax.random.fold_in(epoch_key, _SHIFT), j))
      perm = jnp.where(swap_now, swapped, perm)
      return (params, eta, perm), (jnp.sum(guesses == y), eta, took, swap_now)

    carry = (state['params'], state['eta'], state['perm'])
    (params, eta, perm), (correct, etas, took, swapped) = jax.lax.scan(batch_step, carry, jnp.arange(num_batches))
    eval_acc = jnp.mean(jnp.argmax(apply_fn(params, x_eval), -1) == perm[y_eval])
    metrics = {
      'online_accuracy': jnp.sum(correct) / (num_batches * m),
      'accuracy': eval_acc,
      'lr_mean': jnp.mean(etas),
      'lr_final': eta,
      'takes': jnp.sum(took).astype(jnp.float32),
      'swaps': jnp.sum(swapped).astype(jnp.float32),
    }
    return {'params': params, 'eta': eta, 'perm': perm}, metrics

  return epoch_fn


def train(
  *,
  model,
  data: ArrayDataset,
  regulation: NeedRegulation,
  num_steps: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  batch_size: int = 10,
  swaps_per_epoch: float = 0.0,
  seasonal_amplitude: float = 0.0,
  seasonal_period: float = 10.0,
  keep_checkpoints: int = 2,
) -> dict[str, Any]:
  """Online learning for `num_steps` batches (epochs of num_train // batch_size batches); returns final metrics.

  Writes per-epoch rows (split 'train': online accuracy, lr; split 'eval': accuracy under the current labels)
  through MetricWriter, checkpoints the learner (params, eta, label map, running sums of EPOCH_MEANS) at the end
  of every epoch and resumes from the latest one. A non-finite parameter or eta stops the run with
  TrainingDiverged. The final metrics are the last epoch's plus mean_online_accuracy, mean_accuracy and mean_lr:
  the means over every epoch of online accuracy, eval accuracy and the epoch's mean eta.
  """
  if num_steps < 1:
    raise ConfigurationError(f'online.train.num_steps={num_steps} must be at least 1 (batches of online updates).')
  if batch_size < 1 or batch_size > data.num_train:
    raise ConfigurationError(f'online.train.batch_size={batch_size} must be between 1 and {data.num_train}.')
  if swaps_per_epoch < 0 or seasonal_period <= 0:
    raise ConfigurationError(
      f'online.train: swaps_per_epoch={swaps_per_epoch} must be >= 0 and seasonal_period={seasonal_period} > 0.'
    )
  num_labels = int(np.max(data.train['targets'])) + 1
  if num_labels > regulation.num_classes:
    raise ConfigurationError(
      f'NeedRegulation.num_classes={regulation.num_classes} but the data have {num_labels} classes; the valence '
      'map must cover every class.'
    )
  run = engine.Run(
    seed=seed, workdir=workdir, dry_run=dry_run, total_steps=num_steps, keep_checkpoints=keep_checkpoints
  )
  example = jnp.asarray(data.train['inputs'][:2])
  # The root key itself: init_state and the epoch fold in their own stream ids (parameters 0; order, shift,
  # regulation inside each epoch), as the seed's recorded results were made.
  sums = {k: jnp.zeros((), jnp.float32) for k in EPOCH_MEANS}
  init = lambda key: {'step': jnp.zeros((), jnp.int32), **init_state(model, regulation, example, key), 'sums': sums}  # noqa: E731
  if run.dry_run:
    return run.dry_run_result(run.build(init))
  key = run.place(run.root_key())
  state = run.resume(run.place(jax.jit(jax.vmap(init) if run.vmapped else init)(key)))

  per_epoch = data.num_train // batch_size
  num_epochs = math.ceil(num_steps / per_epoch)
  epoch_fns = {}
  finals = []
  for epoch in range(run.start_step // per_epoch, num_epochs):
    batches = min(per_epoch, num_steps - epoch * per_epoch)
    if batches not in epoch_fns:
      epoch_fns[batches] = run.jit(
        make_epoch_fn(model, regulation, data, batch_size, batches), member_axes=(0, 0, None, None)
      )
    swaps = swaps_in_epoch(epoch, swaps_per_epoch, seasonal_amplitude, seasonal_period)
    learner = {k: v for k, v in state.items() if k not in ('step', 'sums')}
    learner, metrics = epoch_fns[batches](learner, key, epoch, swaps)
    step = epoch * per_epoch + batches
    sums = {k: state['sums'][k] + metrics[k] for k in EPOCH_MEANS}
    steps = run.place(jnp.full((len(run.seeds),) if run.vmapped else (), step, jnp.int32))
    state = {'step': steps, **learner, 'sums': sums}
    if epoch == run.start_step // per_epoch:
      run.first_step_done(step, state)
    rows = [{k: float(v) for k, v in m.items()} for m in run.members_of(metrics)]
    train_keys = ('online_accuracy', 'lr_mean', 'lr_final', 'takes', 'swaps')
    run.log_rows(step, 'train', [{k: r[k] for k in train_keys} for r in rows], show='online_accuracy')
    run.log_rows(step, 'eval', [{'accuracy': r['accuracy']} for r in rows], check=False)
    # The probe covers the learning rate too: a regulation that drives eta to inf stops the run here.
    run.save(step, state, probe={'params': state['params'], 'eta': state['eta']})
    finals = [{'step': step, 'epoch': epoch + 1, **r} for r in rows]
  if not finals:  # resumed after the last epoch: nothing left to train
    finals = [{'step': run.start_step} for _ in run.seeds]
  epochs = math.ceil(finals[0]['step'] / per_epoch)  # the epochs summed so far (the last one may be partial)
  for final, member_sums in zip(finals, run.members_of(state['sums'])):
    final.update({name: float(member_sums[k]) / max(epochs, 1) for k, name in EPOCH_MEANS.items()})
  return run.finish(finals)
