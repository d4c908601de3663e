"""Seeds as one vmapped program: every member's final metrics equal a single-seed launch of the same config.

For the supervised loop and the continual trainer (the two the issue names): `launch --seeds=0,2` trains both seeds
as one program (launch/vmapped.execute_seeds -> common/train/engine.py members), each seed in <workdir>/seed_<s>,
and seed 2's metrics equal a plain run with SEED=2 to float tolerance (vmapping changes the order of some
floating-point reductions, so not bitwise). The member's run directory is a complete run: its own config record
says SEED=2.
"""

import json

import pytest

from launch import api, vmapped
from launch.gin_args import repo_root

ROOT = repo_root()
CPU_DEBUG = 'configs/base/cpu_debug.gin'
CASES = {
  'loop.train': (['configs/baselines/digits_mlp.gin', CPU_DEBUG], ['NUM_STEPS = 8']),
  # The task stream is seeded by DATA_SEED (= SEED unless set): fixed, so both seeds share one stream.
  'trainer.train': (['configs/hlop/finetune.gin', CPU_DEBUG], ['NUM_STEPS = 4', 'DATA_SEED = 0']),
}
TIMINGS = ('compile_seconds', 'first_step_unix_time')


@pytest.mark.parametrize('case', sorted(CASES))
def test_each_member_equals_its_single_seed_run(case, tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)
  files, bindings = CASES[case]
  finals = vmapped.execute_seeds(files, bindings, [0, 2], str(tmp_path / 'vm'))
  single = api.execute(files, [*bindings, 'SEED = 2'], workdir=str(tmp_path / 'single'))
  member = finals[1]
  on_disk = json.loads((tmp_path / 'vm' / 'seed_2' / 'final_metrics.json').read_text())
  numbers = {k: v for k, v in single.items() if isinstance(v, (int, float)) and k not in TIMINGS}
  assert numbers, single
  for k, v in numbers.items():
    assert member[k] == pytest.approx(v, rel=1e-4, abs=1e-5), (case, k)
    assert on_disk[k] == pytest.approx(v, rel=1e-4, abs=1e-5), (case, k)
  resolved = json.loads((tmp_path / 'vm' / 'seed_2' / 'config' / 'resolved.json').read_text())['bindings']
  assert resolved['SEED']['value'] == 2
  assert any(finals[0][k] != member[k] for k in numbers if k not in ('step', 'num_params'))  # the seeds differ
