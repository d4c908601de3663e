"""Data parallelism: the same run on 4 forced CPU devices matches the 1-device run, and the step compiles once;
vmapped seeds split over 2 devices match the 1-device single-seed run."""

import json
import os
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.data.synthetic import function_fitting
from common.models import mlp
from common.train import loop, state, tasks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = """
import functools, json, sys
from common.data.synthetic import function_fitting
from common.models import mlp
from common.train import loop, optim, tasks
task = tasks.RegressionTask(data=function_fitting.make_dataset('xy', num_train=256, num_eval=64), batch_size=32)
final = loop.train(model=mlp.MLP(hidden=(16,), out=1), task=task, num_steps=30, seed=0, workdir=sys.argv[1],
                   optimizer=functools.partial(optim.create_optimizer, learning_rate=1e-2), log_every=10)
import jax
print(json.dumps({'devices': jax.device_count(), 'loss': final['loss']}))
"""


def _run(devices, workdir):
  env = dict(os.environ, XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}', JAX_PLATFORMS='cpu')
  out = subprocess.run([sys.executable, '-c', _SCRIPT, workdir], cwd=ROOT, env=env, capture_output=True, text=True)
  assert out.returncode == 0, out.stderr[-3000:]
  return json.loads(out.stdout.strip().splitlines()[-1])


def test_four_devices_match_one(tmp_path):
  one, four = _run(1, str(tmp_path / 'one')), _run(4, str(tmp_path / 'four'))
  assert (one['devices'], four['devices']) == (1, 4)
  np.testing.assert_allclose(four['loss'], one['loss'], rtol=1e-4)


def test_vmapped_seeds_split_over_two_devices_match_one(tmp_path):
  """`launch --seeds=0,1 --cpu_devices=2` puts one member on each CPU device (one mesh for members and shared
  arrays: a second mesh over the same devices made jit refuse the step) and seed 1 equals its 1-device run."""
  tiny = ['--gin_file=tests/launch_tools/data/tiny_fit.gin', '--gin.NUM_STEPS=6']

  def launch(*args):
    env = dict(os.environ, JAX_PLATFORMS='cpu')
    env.pop('XLA_FLAGS', None)
    out = subprocess.run(
      [sys.executable, '-m', 'launch', *tiny, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout

  assert 'on cpu (2 devices)' in launch('--seeds=0,1', '--cpu_devices=2', f'--workdir={tmp_path / "vm"}')
  assert 'on cpu (1 devices)' in launch('--gin.SEED=1', f'--workdir={tmp_path / "one"}')
  member, single = (json.loads((tmp_path / d / 'final_metrics.json').read_text()) for d in ('vm/seed_1', 'one'))
  np.testing.assert_allclose(member['loss'], single['loss'], rtol=1e-4)


def test_train_step_compiles_once():
  task = tasks.RegressionTask(data=function_fitting.make_dataset('xy', num_train=64, num_eval=16), batch_size=16)
  model, tx = mlp.MLP(hidden=(8,), out=1), optax.adam(1e-3)
  st = state.create_state(state.init_variables(model, task.init_inputs(), jax.random.PRNGKey(0)), tx)
  step = chex.assert_max_traces(loop.make_train_step(model, task, tx), n=1)
  jitted = jax.jit(step)
  arrays, key = jax.device_put(task.train_arrays()), jax.random.PRNGKey(1)
  for _ in range(4):
    st, metrics = jitted(st, arrays, key, key)
  assert int(st['step']) == 4 and jnp.isfinite(metrics['loss'])
