"""The liquid-state-machine model and its plasticity hook (small liquids, few steps)."""

import jax
import jax.numpy as jnp
import numpy as np

from common.homeostatic import astro
from common.homeostatic import lif_reservoir as lsm
from projects.astro_lsm.model import RESERVOIR, LiquidStateMachine
from projects.astro_lsm.plasticity import ReservoirPlasticity, mean_abs_weight

KEY = jax.random.PRNGKey(0)
SMALL = lsm.LSMConfig(grid=(4, 4, 4))


def _init(model, x):
  return jax.jit(model.init)({'params': KEY}, x)


def test_outputs_and_frozen_reservoir():
  model = LiquidStateMachine(reservoir=SMALL, num_steps=60, window=2, buffer=5)
  x = jax.random.uniform(KEY, (3, 8, 8, 1))
  v = _init(model, x)
  assert set(v) == {'params', RESERVOIR} and v['params']['readout']['kernel'].shape == (64, 10)
  out = jax.jit(model.apply)(v, x)
  assert out['logits'].shape == (3, 10)
  assert 0 < float(out['reservoir_rate']) < 1 and 0 < float(out['input_rate']) < 1
  assert np.isfinite(float(out['branching_factor'])) and float(out['branching_counted']) > 0
  again = jax.jit(model.apply)(v, x)  # evaluation is deterministic (fixed Poisson seed)
  np.testing.assert_array_equal(out['logits'], again['logits'])
  train_out = model.apply(v, x, train=True, rngs={'dropout': KEY})
  assert 'branching_factor' not in train_out
  g = jax.grad(lambda p: jnp.sum(model.apply({**v, 'params': p}, x)['logits']))(v['params'])
  assert np.any(np.asarray(g['readout']['kernel']) != 0)


def test_within_sample_plasticity_leaves_the_shared_weights_alone():
  pcfg = astro.PlasticityConfig(mode='astro', rate_decay=0.99)
  frozen = LiquidStateMachine(reservoir=SMALL, num_steps=40)
  plastic = LiquidStateMachine(reservoir=SMALL, num_steps=40, plasticity=pcfg)
  x = jax.random.uniform(KEY, (2, 16))
  v = _init(frozen, x)
  a, b = jax.jit(frozen.apply)(v, x), jax.jit(plastic.apply)(v, x)
  assert not np.allclose(a['logits'], b['logits'])  # each example's own weights changed its spike counts
  np.testing.assert_array_equal(_init(plastic, x)[RESERVOIR]['weights'], v[RESERVOIR]['weights'])


def test_plasticity_hook_runs_only_until_its_last_step():
  model = LiquidStateMachine(reservoir=SMALL, num_steps=30)
  x = jax.random.uniform(KEY, (4, 16))
  v = _init(model, x)
  hook = ReservoirPlasticity(model=model, until_step=2, samples_per_step=2, sample_steps=20)
  state = {'step': jnp.int32(1), 'params': v['params'], 'model_state': {RESERVOIR: v[RESERVOIR]}}
  run = jax.jit(lambda s, b, k: hook(s, b, k))
  after = run(state, {'inputs': x}, KEY)
  res, res0 = after['model_state'][RESERVOIR], v[RESERVOIR]
  assert not np.allclose(res['weights'], res0['weights'])
  w, mask = np.asarray(res['weights']), np.asarray(res0['valid'])
  assert np.all(w[mask == 0] == 0)
  assert np.all(w >= np.asarray(res0['lo']) - 1e-6) and np.all(w <= np.asarray(res0['hi']) + 1e-6)
  assert float(mean_abs_weight(res)) < float(mean_abs_weight(res0))  # from the maximum, STDP can only depress
  late = run({**state, 'step': jnp.int32(3)}, {'inputs': x}, KEY)
  np.testing.assert_array_equal(late['model_state'][RESERVOIR]['weights'], res0['weights'])
