"""Platform selection and the CPU device count, done before JAX starts a backend (so before any gin file is parsed)."""

from launch.errors import UsageError

_JAX_NAMES = {'cpu': 'cpu', 'gpu': 'cuda', 'tpu': 'tpu'}


def select(platform: str) -> None:
  import jax

  # Random bits that do not depend on how arrays are sharded: the same seed gives the same run on 1 or N devices.
  jax.config.update('jax_threefry_partitionable', True)
  if platform == 'auto':
    return
  if platform not in _JAX_NAMES:
    raise UsageError(f'--platform={platform!r} is unknown; choose auto, cpu, gpu or tpu.')
  jax.config.update('jax_platforms', _JAX_NAMES[platform])


def set_cpu_devices(requested: int | None) -> int | None:
  """`--cpu_devices=N`: exposes the CPU as N devices (JAX's host device count); None leaves JAX's default (1, or what
  XLA_FLAGS sets). Affects only the CPU backend. Returns the count set.

  Why: XLA:CPU runs one small program on about one core, so the members of a vmapped run (--seeds,
  --vmap_trials) on one CPU device leave the other cores idle; on N devices the engine splits the members over
  them (common/train/engine.py) and the N parts run in parallel: 8 seeds of configs/baselines/digits_mlp.gin on a
  2-core machine ran at 103 steps/s on 1 device and 197 on 2. Not the default, because the split goes through
  XLA's SPMD partitioner and two entry points fail under it (checked with --seeds=0,1 --cpu_devices=2 on each
  capability-matrix config): ctm_maze's vmapped convolution is rejected ("output feature dimension ... divisible by
  feature_group_count") and adaptive_reservoir hangs in an XLA:CPU cross-device collective.
  """
  import jax

  if requested is None:
    return None
  if requested < 1:
    raise UsageError(f'--cpu_devices={requested} must be at least 1.')
  jax.config.update('jax_num_cpu_devices', requested)
  return requested


def describe() -> dict:
  import jax

  return {
    'backend': jax.default_backend(),
    'process_index': jax.process_index(),
    'process_count': jax.process_count(),
    'local_devices': [str(d) for d in jax.local_devices()],
    'global_device_count': jax.device_count(),
  }
