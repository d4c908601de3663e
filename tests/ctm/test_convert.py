"""A reference CTM checkpoint imported as a finished run: `launch` restores it, trains nothing, and the restored model
predicts what the reference predicted, tick by tick (fixture parity_layernorm_nlm, tests/ctm/data/README.md)."""

import json
import os

import jax
import numpy as np

from common.ctm.ctm import NEURON_INDICES
from common.train import state as state_lib
from common.train.checkpoint import restore_params
from launch import api, import_ctm_reference
from tests.ctm import reference_fixtures

CONFIG = 'configs/ctm_parity/ctm_t16.gin'
# ctm_t16.gin shrunk to the fixture's reference hyperparameters.
BINDINGS = [
  'ITERATIONS=5',
  'D_MODEL=16',
  'D_INPUT=8',
  'MEMORY_LENGTH=4',
  'LENGTH=6',
  'NUM_STEPS=7',
  'EVAL_EXAMPLES=64',
  'PER_TICK_METRICS=False',
  'ctm.CTM.heads=2',
  'ctm.CTM.n_synch_out=6',
  'ctm.CTM.n_synch_action=5',
  'ctm.CTM.memory_hidden_dims=3',
  'ctm.CTM.do_layernorm_nlm=True',
  'ctm.CTM.n_random_pairing_self=2',
  'ctm.CTM.out_dims=12',
  'ctm.CTM.prediction_reshaper=(6, 2)',
]


def test_reference_checkpoint_restores_as_a_finished_run(tmp_path):
  fixture = reference_fixtures.load('parity_layernorm_nlm')
  sd_path = str(tmp_path / 'state_dict.npz')
  np.savez(sd_path, **fixture['state_dict'])
  workdir = str(tmp_path / 'run')
  argv = [f'--gin_file={CONFIG}', *[f'--gin.{b}' for b in BINDINGS], f'--state_dict={sd_path}', f'--workdir={workdir}']
  assert import_ctm_reference.main(argv) == 0
  assert import_ctm_reference.main(argv) == 2  # a second import into the same workdir is refused

  final = api.execute([CONFIG], BINDINGS, workdir=workdir)
  assert final['step'] == 7 and 'compile_seconds' not in final  # resumed at the end: no training step ran
  jsonl = os.path.join(workdir, 'metrics.jsonl')
  rows = [json.loads(line) for line in open(jsonl)] if os.path.exists(jsonl) else []
  assert not [r for r in rows if r.get('split') == 'train']

  model, _, tx, _ = import_ctm_reference.build([CONFIG], BINDINGS)  # the run's model and optimizer, through gin
  like = state_lib.create_state(state_lib.init_variables(model, fixture['x'], jax.random.PRNGKey(3)), tx)
  seeded = {k: np.asarray(v) for k, v in like['model_state'][NEURON_INDICES].items()}
  state = restore_params(workdir, like)
  restored = {k: np.asarray(v) for k, v in state['model_state'][NEURON_INDICES].items()}
  np.testing.assert_array_equal(restored['out_left'], fixture['state_dict']['out_neuron_indices_left'])
  np.testing.assert_array_equal(restored['action_right'], fixture['state_dict']['action_neuron_indices_right'])
  assert any(not np.array_equal(seeded[k], restored[k]) for k in seeded)  # the checkpoint's, not the seed's
  out = model.apply({'params': state['params'], **state['model_state']}, fixture['x'])
  ref = fixture['predictions']
  np.testing.assert_allclose(out['predictions'], ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_import_refuses_a_state_dict_of_other_hyperparameters(tmp_path, capsys):
  fixture = reference_fixtures.load('parity_layernorm_nlm')
  sd_path = str(tmp_path / 'state_dict.npz')
  np.savez(sd_path, **fixture['state_dict'])
  argv = [f'--gin_file={CONFIG}', *[f'--gin.{b}' for b in BINDINGS[:-2]], f'--state_dict={sd_path}']
  assert import_ctm_reference.main(argv + [f'--workdir={tmp_path / "run"}']) == 2  # out_dims left at 32
  err = capsys.readouterr().err
  assert 'output_projector' in err and 'shape' in err
  assert not os.path.exists(tmp_path / 'run' / 'checkpoints')
