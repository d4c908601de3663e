"""Digits with adaptive compute: train a CTM with the supervised loop, then measure when it halts.

Entry point (gin: ENTRY_POINT = @experiment.run). After training it restores the final parameters and writes to
the workdir:
  halting.json   accuracy and certainty at every tick (all T ticks run); for each certainty threshold the
                 accuracy of the halted predictions, mean ticks used and the histogram of ticks used; how the ticks
                 used relate to difficulty (correct vs wrong; per class; Spearman correlation with the loss of an
                 independent logistic-regression classifier, whose confident examples are the 'easy' ones).
  halting.png    accuracy vs ticks, and the distribution of ticks used at each threshold.
"""

import os
from typing import Any, Sequence

import jax
import numpy as np

from common.train import loop


def analyse(model, variables, eval_batches, thresholds: Sequence[float], difficulty=None) -> dict[str, Any]:
  """Runs the full T ticks and adaptive inference at each threshold on every eval example."""
  full = jax.jit(lambda v, x: model.apply(v, x))
  adaptive = jax.jit(lambda v, x, thr: model.apply(v, x, thr, method='adaptive'))
  xs = np.concatenate([b['inputs'][b['weight'] > 0] for b in eval_batches])
  ys = np.concatenate([b['targets'][b['weight'] > 0] for b in eval_batches])
  out = jax.device_get(full(variables, xs))
  preds = out['predictions'].argmax(-1)  # (N, T)
  result: dict[str, Any] = {
    'num_examples': int(len(ys)),
    'accuracy_per_tick': (preds == ys[:, None]).mean(0).tolist(),
    'certainty_per_tick': out['certainties'].mean(0).tolist(),
    'thresholds': {},
  }
  iterations = preds.shape[1]
  for thr in thresholds:
    a = jax.device_get(adaptive(variables, xs, float(thr)))
    used = np.asarray(a['ticks_used'])
    correct = a['predictions'].argmax(-1) == ys
    entry = {
      'accuracy': float(correct.mean()),
      'mean_ticks': float(used.mean()),
      'halted_fraction': float(np.mean(a['halted'])),
      'ticks_histogram': np.bincount(used, minlength=iterations + 1)[1:].tolist(),
      'mean_ticks_correct': float(used[correct].mean()) if correct.any() else None,
      'mean_ticks_wrong': float(used[~correct].mean()) if (~correct).any() else None,
      'mean_ticks_per_class': [float(used[ys == c].mean()) for c in range(int(ys.max()) + 1)],
    }
    if difficulty is not None:
      from scipy.stats import spearmanr

      entry['spearman_ticks_vs_difficulty'] = float(spearmanr(used, difficulty(xs, ys)).statistic)
      easy = difficulty(xs, ys) <= np.quantile(difficulty(xs, ys), 0.5)
      entry['mean_ticks_easy_half'] = float(used[easy].mean())
      entry['mean_ticks_hard_half'] = float(used[~easy].mean())
    result['thresholds'][str(thr)] = entry
  return result


def logistic_difficulty(train_inputs, train_targets):
  """A difficulty score independent of the CTM: the cross-entropy of a logistic-regression classifier."""
  from sklearn.linear_model import LogisticRegression

  flat = lambda x: np.asarray(x).reshape(len(x), -1)  # noqa: E731
  clf = LogisticRegression(max_iter=2000).fit(flat(train_inputs), np.asarray(train_targets))

  def difficulty(xs, ys):
    proba = clf.predict_proba(flat(xs))
    return -np.log(np.maximum(proba[np.arange(len(ys)), ys], 1e-12))

  return difficulty


def plot(result: dict[str, Any], path: str) -> None:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
  t = np.arange(1, len(result['accuracy_per_tick']) + 1)
  ax1.plot(t, result['accuracy_per_tick'], marker='.', label='accuracy')
  ax1.plot(t, result['certainty_per_tick'], marker='.', label='mean certainty')
  ax1.set(xlabel='internal tick', title='digits: all ticks run')
  ax1.legend()
  for thr, e in result['thresholds'].items():
    ax2.plot(
      t, e['ticks_histogram'], marker='o', label=f'thr {thr}: acc {e["accuracy"]:.3f}, {e["mean_ticks"]:.1f} ticks'
    )
  ax2.set(xlabel='ticks used', ylabel='examples', title='adaptive halting')
  ax2.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)


def run(
  *,
  model,
  task,
  optimizer,
  num_steps: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  thresholds: Sequence[float] = (0.5, 0.7, 0.8, 0.9),
  log_every: int = 100,
  eval_every: int = 500,
  checkpoint_every: int = 500,
  xla_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
  """Trains (common/train/loop.train), then runs the halting analysis on the eval split (for every seed of a
  vmapped multi-seed run) and adds its numbers to final_metrics.json."""
  finals = loop.train(
    model=model,
    task=task,
    optimizer=optimizer,
    num_steps=num_steps,
    seed=seed,
    workdir=workdir,
    dry_run=dry_run,
    log_every=log_every,
    eval_every=eval_every,
    checkpoint_every=checkpoint_every,
    xla_options=xla_options,
  )
  if dry_run:
    return finals
  difficulty = logistic_difficulty(task.data.train['inputs'], task.data.train['targets'])

  def analyse_halting(state, final, member_dir):
    variables = {'params': state['params'], **state['model_state']}
    result = analyse(model, variables, task.eval_batches(), thresholds, difficulty)
    metrics = {}
    for thr, e in result['thresholds'].items():
      metrics[f'halt{thr}_accuracy'] = e['accuracy']
      metrics[f'halt{thr}_mean_ticks'] = e['mean_ticks']
    if jax.process_index() == 0:
      plot(result, os.path.join(member_dir, 'halting.png'))
    return metrics, {'halting.json': result}

  return loop.analyse_trained(
    finals, analyse_halting, model=model, task=task, optimizer=optimizer, num_steps=num_steps, seed=seed,
    workdir=workdir,
  )  # fmt: skip
