"""The training loop's artifacts, auxiliary losses, and the default experiment's accuracy claim."""

import functools
import json
import os

import flax.linen as nn
import jax.numpy as jnp
import pytest

from common.data import pipeline
from common.data.synthetic import function_fitting
from common.models import mlp
from common.train import loop, optim, tasks, xla_options
from common.train.errors import ConfigurationError
from common.train.metrics import read_jsonl


def _digits_task(batch_size=32):
  return tasks.ClassificationTask(data=pipeline.load_tfds('sklearn_digits', scale=1 / 16), batch_size=batch_size)


def test_run_writes_metrics_tensorboard_plot_and_final(tmp_path):
  final = loop.train(
    model=mlp.MLP(hidden=(32,)),
    task=_digits_task(),
    optimizer=functools.partial(optim.create_optimizer, learning_rate=3e-3),
    num_steps=20,
    seed=1,
    workdir=str(tmp_path),
    log_every=5,
    eval_every=10,
    checkpoint_every=10,
  )
  rows = read_jsonl(str(tmp_path / 'metrics.jsonl'))
  assert [r['step'] for r in rows if r['split'] == 'train'] == [5, 10, 15, 20]
  assert [r['step'] for r in rows if r['split'] == 'eval'] == [10, 20]
  assert json.load(open(tmp_path / 'final_metrics.json'))['accuracy'] == final['accuracy']
  assert (tmp_path / 'curves.png').stat().st_size > 1000
  # TensorBoard's own reader sees every logged scalar at its step.
  from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

  for split, steps in (('train', [5, 10, 15, 20]), ('eval', [10, 20])):
    events = EventAccumulator(str(tmp_path / 'tensorboard' / split))
    events.Reload()
    assert [e.step for e in events.Scalars('loss')] == steps
    logged = [r['loss'] for r in rows if r['split'] == split]
    assert [e.value for e in events.Scalars('loss')] == pytest.approx(logged, rel=1e-6)
  assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['10', '20']


class _WithPenalty(nn.Module):
  weight: float

  @nn.compact
  def __call__(self, x, train=False):
    y = nn.Dense(1)(x)
    self.sow('losses', 'penalty', self.weight * jnp.ones(()))
    return y


def test_sown_losses_are_added_to_the_objective(tmp_path):
  data = function_fitting.make_dataset('xy', num_train=64, num_eval=16)
  task = tasks.RegressionTask(data=data, batch_size=16)
  opt = functools.partial(optim.create_optimizer, learning_rate=1e-3)
  loop.train(model=_WithPenalty(2.5), task=task, optimizer=opt, num_steps=2, seed=0, workdir=str(tmp_path), log_every=1)
  row = read_jsonl(str(tmp_path / 'metrics.jsonl'))[0]
  assert abs(row['aux_loss'] - 2.5) < 1e-6
  assert abs(row['total_loss'] - (row['loss'] + 2.5)) < 1e-5


def test_default_experiment_reaches_95_percent(tmp_path):
  from launch import api

  final = api.execute(['configs/baselines/digits_mlp.gin'], workdir=str(tmp_path))
  assert final['accuracy'] > 0.95, final


def test_xla_options_are_checked_before_training():
  assert loop.check_xla_options(None) is None
  assert loop.check_xla_options(xla_options.cpu_small_ops()) == xla_options.cpu_small_ops()
  with pytest.raises(ConfigurationError, match='xla_cpu_no_such_option'):
    loop.check_xla_options({'xla_cpu_no_such_option': 1})
