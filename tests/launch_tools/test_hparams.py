"""TensorBoard HParams: every launched run writes the hparams plugin's protos, and TensorBoard's own loaders (the
event accumulator, and the HParams dashboard's backend over a sweep root) read back hyperparameters and metrics."""

import os

import pytest

from common.train import hparams
from launch import api
from launch.gin_args import repo_root

ROOT = repo_root()
TINY = 'tests/launch_tools/data/tiny_fit.gin'
RUNS = {'a': ('0.03', '(16,)'), 'b': ('0.003', '(8,)')}  # learning rate, hidden widths


def test_names_and_values_from_a_resolved_config():
  bindings = {
    'LEARNING_RATE': {'value': 0.01, 'gin': '0.01'},
    'common.models.mlp.MLP.hidden': {'value': [16], 'gin': '(16,)'},
    'common.models.mlp.MLP.out': {'value': 1, 'gin': '1'},
    'common.train.loop.train.model': {'value': {'@': 'common.models.mlp.MLP', 'call': True}, 'gin': '@mlp.MLP()'},
    'other.MLP.out': {'value': 2, 'gin': '2'},
    'common.train.optim.create_optimizer.name': {'value': 'adam', 'gin': "'adam'"},
  }
  # Scalars always; a non-scalar only when swept (as its gin text); names shortened while unambiguous.
  assert hparams.hparams_of(bindings, swept=['mlp.MLP.hidden']) == {
    'LEARNING_RATE': 0.01,
    'MLP.hidden': '(16,)',
    'mlp.MLP.out': 1,
    'other.MLP.out': 2,
    'create_optimizer.name': 'adam',
  }
  assert 'MLP.hidden' not in hparams.hparams_of(bindings)


@pytest.fixture(scope='module')
def sweep_root(tmp_path_factory):
  root = tmp_path_factory.mktemp('hp')
  cwd = os.getcwd()
  os.chdir(ROOT)
  try:
    finals = {}
    for name, (lr, hidden) in RUNS.items():
      bindings = ['NUM_STEPS = 4', f'LEARNING_RATE = {lr}', f'mlp.MLP.hidden = {hidden}']
      finals[name] = api.execute([TINY], bindings, workdir=str(root / name), swept=['LEARNING_RATE', 'mlp.MLP.hidden'])
  finally:
    os.chdir(cwd)
  return root, finals


def test_each_run_writes_session_start_end_and_experiment(sweep_root):
  from tensorboard.backend.event_processing import event_accumulator
  from tensorboard.plugins.hparams import api_pb2, metadata

  root, _ = sweep_root
  acc = event_accumulator.EventAccumulator(str(root / 'a' / 'tensorboard'))
  acc.Reload()
  content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
  start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
  assert start.hparams['LEARNING_RATE'].number_value == 0.03
  assert start.hparams['MLP.hidden'].string_value == '(16,)'
  assert start.hparams['SEED'].number_value == 0 and start.hparams['NUM_STEPS'].number_value == 4
  end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
  assert end.status == api_pb2.STATUS_SUCCESS
  experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
  metrics = {(m.name.group, m.name.tag) for m in experiment.metric_infos}
  assert {('final', 'loss'), ('final', 'rmse'), ('eval', 'loss')} <= metrics and ('final', 'step') not in metrics
  types = {h.name: h.type for h in experiment.hparam_infos}
  assert types['MLP.hidden'] == api_pb2.DATA_TYPE_STRING and types['LEARNING_RATE'] == api_pb2.DATA_TYPE_FLOAT64


def test_hparams_dashboard_compares_the_runs_of_a_root(sweep_root):
  """What TensorBoard's HParams dashboard asks its backend, over the root as logdir."""
  from tensorboard import context as tb_context
  from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
  from tensorboard.plugins import base_plugin
  from tensorboard.plugins.hparams import api_pb2, backend_context, get_experiment, list_session_groups

  root, finals = sweep_root
  mux = plugin_event_multiplexer.EventMultiplexer()
  mux.AddRunsFromDirectory(str(root))
  mux.Reload()
  provider = data_provider.MultiplexerDataProvider(mux, str(root))
  tb = base_plugin.TBContext(logdir=str(root), multiplexer=mux, data_provider=provider)
  ctx, backend = tb_context.RequestContext(), backend_context.Context(tb)
  experiment = get_experiment.Handler(ctx, backend, '', api_pb2.GetExperimentRequest(include_metrics=True)).run()
  assert {'LEARNING_RATE', 'MLP.hidden', 'SEED'} <= {h.name for h in experiment.hparam_infos}
  request = api_pb2.ListSessionGroupsRequest(
    start_index=0, slice_size=10, allowed_statuses=[api_pb2.STATUS_SUCCESS], include_metrics=True
  )
  groups = list_session_groups.Handler(ctx, backend, '', request).run().session_groups
  by_session = {g.sessions[0].name: g for g in groups}
  assert sorted(by_session) == ['a/tensorboard', 'b/tensorboard']
  for name, (lr, hidden) in RUNS.items():
    g = by_session[f'{name}/tensorboard']
    assert g.hparams['LEARNING_RATE'].number_value == float(lr) and g.hparams['MLP.hidden'].string_value == hidden
    values = {(m.name.group, m.name.tag): m.value for m in g.metric_values}
    assert values[('final', 'loss')] == pytest.approx(finals[name]['loss'], rel=1e-6)
