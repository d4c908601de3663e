"""Platform selection, done before JAX starts a backend (so it must run before any gin file is parsed)."""

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


def describe() -> dict:
  import jax

  return {
    'backend': jax.default_backend(),
    'process_index': jax.process_index(),
    'process_count': jax.process_count(),
    'local_devices': [str(d) for d in jax.local_devices()],
    'global_device_count': jax.device_count(),
  }
