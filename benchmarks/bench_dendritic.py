"""Dendritic family benchmark: one training step of an ELM layer vs an LSTM of equal parameter count, same run.

Workload (the issue's): sequences of length 1000, batch 64, 64 inputs; the model is SequenceModel(core, out=1)
regressing one number from the last step (MSE), trained with Adam; one jitted step = forward + backward through
the whole sequence (lax.scan) + optimizer update. Cores:
  ours   ELM (d_m = 20, MLP hidden 40; 4,4xx parameters with the head) and Branch-ELM (8 branches)
  peer   our LSTM (lax.scan, input projection hoisted like the ELM's), hidden chosen by parameter_matched_hidden,
         and flax's nn.RNN(nn.OptimizedLSTMCell) of the same width (a library implementation), same parameters.
No external peer library is needed (there is no maintained JAX ELM; the authors' PyTorch code loops over time in
Python, so it is not a like-for-like comparison and is not measured here).

  python -m benchmarks.bench_dendritic [--quick]      # --quick: sequence length 100, fewer repeats
"""

import argparse
import os
import statistics

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from benchmarks import harness
from common.dendritic import ELM, LSTM, SequenceModel, parameter_matched_hidden
from common.train.state import count_params


class FlaxLSTM(nn.Module):
  """flax.linen's OptimizedLSTMCell under nn.RNN: x (B, T, I) -> (B, T, hidden)."""

  hidden: int

  @nn.compact
  def __call__(self, x, train: bool = False):
    return nn.RNN(nn.OptimizedLSTMCell(self.hidden))(x)


def _train_step_fn(model, x, y):
  params = model.init(jax.random.PRNGKey(0), x[:2])['params']
  tx = optax.adam(1e-3)
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state):
    def loss_fn(p):
      return jnp.mean((model.apply({'params': p}, x)[:, 0] - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  state = {'params': params, 'opt': opt_state}

  def run_once():
    state['params'], state['opt'], loss = step(state['params'], state['opt'])
    return loss

  return run_once, count_params(params)


def run(quick: bool = False) -> list[harness.Row]:
  length, batch, inputs = (100 if quick else 1000), 64, 64
  repeats, warmup = (3, 1) if quick else (15, 2)
  key = jax.random.PRNGKey(0)
  x = jax.random.bernoulli(key, 0.05, (batch, length, inputs)).astype(jnp.float32)
  y = jax.random.normal(jax.random.fold_in(key, 1), (batch,))
  rows = []
  elm_step, elm_params = _train_step_fn(SequenceModel(ELM(num_memory=20), out=1), x, y)
  hidden = parameter_matched_hidden('lstm', inputs, 1, elm_params)
  lstm_step, lstm_params = _train_step_fn(SequenceModel(LSTM(hidden=hidden), out=1), x, y)
  flax_step, flax_params = _train_step_fn(SequenceModel(FlaxLSTM(hidden=hidden), out=1), x, y)
  branch_step, branch_params = _train_step_fn(SequenceModel(ELM(num_memory=20, num_branches=8), out=1), x, y)
  # Round-robin timing: the machine may be shared, so every model sees the same load; median per model.
  fns = {'elm': elm_step, 'lstm': lstm_step, 'flax': flax_step, 'branch': branch_step}
  for fn in fns.values():
    harness.time_fn(fn, warmup=warmup, repeats=1)
  times = {k: [] for k in fns}
  for _ in range(repeats):
    for k, fn in fns.items():
      times[k].append(harness.time_fn(fn, warmup=0, repeats=1))
  t_elm, t_lstm, t_flax, t_branch = (statistics.median(times[k]) for k in ('elm', 'lstm', 'flax', 'branch'))
  workload = f'train step T={length} B={batch} I={inputs}'
  rows.append(
    harness.Row(
      f'ELM d_m=20 ({elm_params:,} p) {workload}',
      t_elm,
      f'LSTM h={hidden} ours',
      t_lstm,
      note=f'LSTM {lstm_params:,} params',
      extra={'elm_params': elm_params, 'lstm_params': lstm_params},
    )
  )
  rows.append(
    harness.Row(
      f'ELM d_m=20 ({elm_params:,} p) {workload}',
      t_elm,
      f'LSTM h={hidden} flax',
      t_flax,
      note=f'nn.OptimizedLSTMCell, {flax_params:,} params',
    )
  )
  rows.append(
    harness.Row(
      f'Branch-ELM 8 br ({branch_params:,} p) {workload}',
      t_branch,
      f'LSTM h={hidden} ours',
      t_lstm,
      note='Branch-ELM has fewer parameters than the LSTM',
    )
  )
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--quick', action='store_true')
  args = parser.parse_args()
  rows = run(quick=args.quick)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(__file__), 'results', 'dendritic.json'))


if __name__ == '__main__':
  main()
