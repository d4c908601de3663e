"""The launcher's config record: provenance, --gin.X=Y shorthand, print_config."""

import json

from launch import api, gin_args
from launch import config_model as cm
from tests.foundation.helpers import launch


def test_shorthand_rewrites_to_bindings():
  assert gin_args.rewrite_gin_shorthand(['x', '--gin.train.num_steps=5', '--workdir=w']) == [
    'x',
    '--gin_bindings=train.num_steps=5',
    '--workdir=w',
  ]


def test_provenance_names_file_line_include_chain_and_command_line():
  prepared = api.prepare(['configs/baselines/digits_mlp.gin'], ['train.num_steps=7'])
  resolved = prepared.model.resolved()
  assert str(resolved['SEED'].location).startswith('configs/baselines/digits_mlp.gin:')
  lr = resolved['LEARNING_RATE'].location
  assert lr.file == 'configs/base/optimizer.gin' and 'configs/base/trainer.gin' in lr.chain
  steps = resolved['common.train.loop.train.num_steps']
  assert steps.value == 7 and str(steps.location) == 'command line'
  assert resolved['ENTRY_POINT'].value == cm.Ref('common.train.loop.train', False)
  assert prepared.entry_name == 'common.train.loop.train'


def test_print_config_shows_provenance_and_writes_nothing(tmp_path):
  r = launch('--gin_file=configs/baselines/digits_mlp.gin', '--print_config', f'--workdir={tmp_path / "w"}')
  assert r.returncode == 0, r.stderr[-2000:]
  assert 'SEED = 0  # configs/baselines/digits_mlp.gin:' in r.stdout
  assert not (tmp_path / 'w').exists()


def test_run_record_is_complete(tmp_path):
  api.execute(['configs/baselines/digits_mlp.gin', 'configs/base/cpu_debug.gin'], workdir=str(tmp_path))
  config = tmp_path / 'config'
  assert {p.name for p in config.iterdir()} >= {'resolved.gin', 'resolved.json', 'operative.gin', 'cli.txt', 'env.json'}
  env = json.loads((config / 'env.json').read_text())
  assert env['seed'] == 0 and env['packages']['jax'] and 'commit' in env['git']
  assert 'mlp.MLP.hidden = (256, 256)' in (config / 'operative.gin').read_text()
  resolved = json.loads((config / 'resolved.json').read_text())['bindings']
  assert resolved['NUM_STEPS']['value'] == 3 and resolved['NUM_STEPS']['set_at'].startswith(
    'configs/base/cpu_debug.gin'
  )


def test_scoped_references_resolve_and_build(tmp_path):
  scoped = tmp_path / 'scoped.gin'
  scoped.write_text(
    'from __gin__ import dynamic_registration\nfrom common.models import mlp\nfrom common.train import loop\n'
    "include 'configs/baselines/digits_mlp.gin'\nloop.train.model = @wide/mlp.MLP()\nwide/mlp.MLP.hidden = (32,)\n"
  )
  prepared = api.prepare([str(scoped)], [])
  resolved = prepared.model.resolved()
  assert resolved['common.train.loop.train.model'].value == cm.Ref('wide/common.models.mlp.MLP', True)
  assert resolved['wide/common.models.mlp.MLP.hidden'].value == (32,)
  final = api.execute([str(scoped)], workdir=None, dry_run=True)
  assert final['num_params'] == 64 * 32 + 32 + 32 * 10 + 10
