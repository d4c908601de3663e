"""The JAX port of need-based regulation against a NumPy transcription of the authors' per-sample loop.

The reference below follows kingsonman/homeostatic-neural-networks lrh.py line by line (per-sample backprop
summed over the minibatch, a decision at every sample index i > nMemo with i % lrinterval == 0 that simulates
"leave it" (eta) and "take it" (eta +- lr_step by the *guessed* class) on the previous nMemo samples, eta moved
by the *true* class when "take it" scores strictly higher, floor 1e-8, then W -= eta / m * sum of gradients).
It runs in float64 from the port's own initial parameters and sample order, so one epoch must agree: the same
number of takes, the same eta, the same online accuracy and the same weights (up to float32 rounding).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.data.pipeline import ArrayDataset
from common.homeostatic import online
from common.homeostatic.need import NeedRegulation
from common.homeostatic.network import EluMLP

N, M, CLASSES = 120, 10, 10


def _elu(x):
  return np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1)


def _elu_grad(x):
  return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))


def _forward(ws, bs, a):
  zs, acts = [], [a]
  for i, (w, b) in enumerate(zip(ws, bs)):
    z = w @ acts[-1] + b
    zs.append(z)
    acts.append(_elu(z) if i < len(ws) - 1 else z)
  logits = acts[-1]
  p = np.exp(logits - logits.max())
  return zs, acts, p / p.sum()


def _accuracy(ws, bs, x, y, idxs):
  return np.mean([np.argmax(_forward(ws, bs, x[k])[2]) == y[k] for k in idxs])


def reference_epoch(ws, bs, x, y, order, eta, lr_step, n_memo=20, interval=10, m=M, mode='homeostatic'):
  """One epoch of lrh.py (mode 'homeostatic') or of a constant rate.

  Returns (ws, bs, eta, takes, correct, misled): misled counts takes whose guess and true class have opposite
  valences (eta moved against the simulated direction), so a test can check that case is exercised.
  """
  ws, bs = [w.copy() for w in ws], [b.copy() for b in bs]
  takes = correct = misled = 0
  for j in range(len(order) // m):
    gw, gb = [np.zeros_like(w) for w in ws], [np.zeros_like(b) for b in bs]
    for i in range(j * m, j * m + m):
      k = order[i]
      zs, acts, p = _forward(ws, bs, x[k])
      guess = int(np.argmax(p))
      correct += guess == y[k]
      err = p - np.eye(CLASSES)[y[k]]
      for layer in reversed(range(len(ws))):
        gw[layer] += np.outer(err, acts[layer])
        gb[layer] += err
        if layer:
          err = (ws[layer].T @ err) * _elu_grad(zs[layer - 1])
      if mode == 'homeostatic' and i > n_memo and i % interval == 0:
        memo = order[i - n_memo : i]

        def sim(lr, ws=ws, bs=bs, gw=gw, gb=gb, memo=memo):
          return _accuracy(
            [w - lr / m * g for w, g in zip(ws, gw)], [b - lr / m * g for b, g in zip(bs, gb)], x, y, memo
          )

        take_lr = eta + (lr_step if guess >= 5 else -lr_step)
        take_lr = 1e-8 if take_lr < 0 else take_lr
        if sim(take_lr) > sim(eta):
          takes += 1
          misled += (guess >= 5) != (y[k] >= 5)
          eta += lr_step if y[k] >= 5 else -lr_step
          eta = 1e-8 if eta < 0 else eta
    ws = [w - eta / m * g for w, g in zip(ws, gw)]
    bs = [b - eta / m * g for b, g in zip(bs, gb)]
  return ws, bs, eta, takes, correct, misled


@pytest.mark.parametrize('mode', ['homeostatic', 'constant'])
def test_one_epoch_matches_the_authors_loop(mode):
  rng = np.random.default_rng(1)
  y = rng.integers(0, CLASSES, N).astype(np.int32)
  x = (rng.normal(size=(CLASSES, 12))[y] + 0.8 * rng.normal(size=(N, 12))).astype(np.float32)
  data = ArrayDataset(train={'inputs': x, 'targets': y}, eval={'inputs': x[:20], 'targets': y[:20]})
  model = EluMLP(hidden=(16, 12), out=CLASSES)
  # A large rate and step so that the 10 decision points of this short epoch take some stimuli.
  reg = NeedRegulation(mode=mode, num_classes=CLASSES, lr_init=0.3, lr_step=0.1)
  key = jax.random.PRNGKey(0)
  state = online.init_state(model, reg, jnp.asarray(x[:2]), key)
  new, metrics = jax.jit(online.make_epoch_fn(model, reg, data, M, N // M))(state, key, 0, jnp.int32(0))
  # The port's sample order for epoch 0 (same derivation as make_epoch_fn).
  order = np.asarray(jax.random.permutation(jax.random.fold_in(jax.random.fold_in(key, 0), online._ORDER), N))

  names = ('dense_0', 'dense_1', 'head')
  p = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), state['params'])
  ws, bs, eta, takes, correct, misled = reference_epoch(
    [p[n]['kernel'].T for n in names],
    [p[n]['bias'] for n in names],
    x.astype(np.float64),
    y,
    order,
    0.3,
    0.1,
    mode=mode,
  )
  if mode == 'homeostatic':
    assert takes > misled > 0, 'the epoch must take stimuli, some of them misperceived, to test the decision'
  assert int(metrics['takes']) == takes
  np.testing.assert_allclose(float(new['eta']), eta, rtol=1e-5)
  assert float(metrics['online_accuracy']) == pytest.approx(correct / N)
  for n, w, b in zip(names, ws, bs):
    np.testing.assert_allclose(np.asarray(new['params'][n]['kernel']), w.T, rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(np.asarray(new['params'][n]['bias']), b, rtol=2e-3, atol=2e-4)
