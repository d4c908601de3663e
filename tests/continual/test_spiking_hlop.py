import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.continual import activity, projection
from launch.gin_args import repo_root
from projects.hlop.spiking_mlp import SpikingMLP
from tests.foundation.helpers import check_readme_sweep


def test_hlop_sees_presynaptic_spikes_of_every_time_step():
  model = SpikingMLP(hidden=(8,), out=3, num_steps=4)
  x = jax.random.uniform(jax.random.PRNGKey(0), (5, 6))
  variables = model.init(jax.random.PRNGKey(1), x)
  acts = activity.dense_inputs(model, variables, x)
  assert acts['dense_0'].shape == (5 * 4, 7)  # B*T rows of 6 inputs + bias
  assert acts['head'].shape == (5 * 4, 9)
  assert set(np.unique(np.asarray(acts['head'][:, :8]))) <= {0.0, 1.0}  # spikes
  assert projection.dense_layers(variables['params']) == {'dense_0': 6, 'head': 8}
  logits = model.apply(variables, x)
  assert logits.shape == (5, 3) and bool(jnp.all(jnp.isfinite(logits)))


@pytest.mark.parametrize('config', ['configs/hlop/spiking_finetune.gin', 'configs/hlop/spiking_hlop.gin'])
def test_spiking_readme_sweep_validates_and_vmaps_seeds(config, monkeypatch):
  monkeypatch.chdir(repo_root())
  check_readme_sweep(config, 'configs/hlop/sweeps/spiking.py', [0, 1, 2, 3, 4])
