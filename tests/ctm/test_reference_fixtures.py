"""Our CTM against fixtures made by the reference implementation (SakanaAI/continuous-thought-machines @ aecfb63).

Each fixture's reference state_dict goes through common/ctm/convert.py into the matching CTM built by
`model_from_reference_args`; per-tick predictions, certainties, the loss and a few gradients must agree in float32.
Together they cover every reference option this repository added for issue #17: do_layernorm_nlm (deep and shallow
NLMs), the learnable-fourier, multi-learnable-fourier and 2-D custom-rotational embeddings, the shallow-wide backbone,
the ResNets (basic and bottleneck blocks, the initial_rgb 1x1 convolution, stride-2 stages on even sizes), the U-Net
synapse, all three neuron selections, and random-pairing indices that repeat a pair.
"""

import jax
import numpy as np
import pytest

from common.ctm import convert
from common.ctm.tasks import CTMClassificationTask, ParityTask
from common.train.errors import ConfigurationError
from tests.ctm import reference_fixtures


def _task(fixture):
  cfg = fixture['config']['ctm']
  if fixture['config']['loss'] == 'parity':
    return ParityTask(length=cfg['prediction_reshaper'][0], batch_size=len(fixture['x']))
  task = CTMClassificationTask.__new__(CTMClassificationTask)  # the loss only: no dataset
  task.num_classes, task.use_most_certain, task.per_tick_metrics = cfg['out_dims'], True, False
  return task


def build(name):
  """(fixture, model, variables) with the reference's weights converted into our variables."""
  fixture = reference_fixtures.load(name)
  model = convert.model_from_reference_args(fixture['config']['ctm'])
  variables = convert.reference_variables(fixture['state_dict'], model, fixture['x'])
  return fixture, model, variables


@pytest.mark.parametrize('name', reference_fixtures.NAMES)
def test_matches_the_reference_per_tick(name):
  fixture, model, variables = build(name)
  task = _task(fixture)
  batch = {'inputs': fixture['x'], 'targets': fixture['targets']}

  def loss_and_outputs(params, rest):
    outputs = model.apply({'params': params, **rest}, batch['inputs'], train=False)
    return task.loss(outputs, batch)[0], outputs

  params, rest = variables['params'], {k: v for k, v in variables.items() if k != 'params'}
  (loss, outputs), grads = jax.jit(jax.value_and_grad(loss_and_outputs, has_aux=True))(params, rest)

  kv = jax.jit(lambda v, x: model.apply(v, x, method='features'))(variables, batch['inputs'])
  np.testing.assert_allclose(kv, fixture['kv'], rtol=1e-5, atol=1e-5)  # LayerNorm'd: entries are O(1)
  ref = fixture['predictions']
  scale = float(np.abs(ref).max())
  np.testing.assert_allclose(outputs['predictions'], ref, rtol=1e-5, atol=1e-5 * scale)
  np.testing.assert_allclose(outputs['certainties'], fixture['certainties'], rtol=1e-5, atol=1e-6)
  assert float(loss) == pytest.approx(fixture['loss'], rel=1e-5)
  ours = {'/'.join(k.key for k in path): np.asarray(g) for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]}
  assert len(fixture['grads']) >= 6
  for key, g_ref in fixture['grads'].items():
    for path, g in convert.map_entry(key, g_ref, model):
      got = ours['/'.join(path[1:])]
      # A gradient entry is a sum over batch and ticks whose terms cancel; XLA reassociates those sums by thread
      # count, which moved a small entry of decay_params_action by 1.2e-4 of its tensor's largest entry on CI. A
      # wrong mapping or formula is off by O(1) of that scale, so 1e-3 of it still fails one.
      np.testing.assert_allclose(got, g, rtol=1e-4, atol=1e-3 * float(np.abs(g).max()), err_msg=key)


def test_converter_names_what_does_not_fit():
  fixture = reference_fixtures.load('parity_layernorm_nlm')
  wrong = convert.model_from_reference_args(dict(fixture['config']['ctm'], memory_hidden_dims=5))
  with pytest.raises(ConfigurationError, match='trace_processor.0.0.w1 -> params/tick/nlm/layer1/w: shape'):
    convert.reference_variables(fixture['state_dict'], wrong, fixture['x'])
  extra = dict(fixture['state_dict'], **{'mystery.weight': np.zeros(3)})
  model = convert.model_from_reference_args(fixture['config']['ctm'])
  with pytest.raises(ConfigurationError, match='mystery.weight: no counterpart'):
    convert.reference_variables(extra, model, fixture['x'])
