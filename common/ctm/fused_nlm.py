"""The CTM's deep NLMs as one fused CPU kernel (common/ctm/kernels/nlm_cpu.cc, an XLA FFI custom call).

deep_nlm(x (D, M, B), w1 (D, M, 2H), b1 (D, 2H), t1 (), w2 (D, H, 2), b2 (D, 2), t2 ()) -> z (D, B) computes
GLU((GLU((x . w1 + b1) / t1) . w2 + b2) / t2) per neuron, as NeuronLevelModels(deep=True, layout='dib') does, with
its gradient. On CPU both passes are one kernel call each, which keeps a neuron's activations in L1 from its first
layer to its output and recomputes them in the backward pass. NeuronLevelModels calls it only where JAX's default
backend is the CPU; lowered for another platform, it runs the same function as XLA ops (`jax.lax.platform_dependent`).

The kernel is compiled on first use with the machine's C++ compiler (`g++`, or $CXX) for this CPU (-march=native)
into a cache keyed by the source, the flags, jaxlib's version and the CPU's feature flags
($BRAINNETS_KERNEL_CACHE, default ~/.cache/brainnets/kernels), written to a temporary name and renamed, so
concurrent processes never load a half-written library. Without a compiler, or with BRAINNETS_FUSED_NLM=0,
`available()` is False and NeuronLevelModels runs its XLA ops on every platform.

Differences from the XLA ops, all at float32 rounding (tests/ctm/test_fused_nlm.py compares values and gradients,
tests/ctm/test_reference_forward.py the whole CTM): the kernel's exp is its own polynomial (~1 ulp), it multiplies by
1/t where the XLA ops divide by t, and its sums run in another order. Each neuron is computed by one thread, so the
results do not depend on the threads' timing.

Under history_scan the forward pass saves z (ColumnDense's SAVED collection) and the backward pass hands it back
(given_deep_nlm), so the backward loop runs only the backward kernel, which recomputes the activations it needs.

Sharded over several devices (a data mesh on CPU), XLA does not partition a custom call: it gathers the operands and
runs the kernel on the whole batch on every device. The result is the same; such runs may set
BRAINNETS_FUSED_NLM=0.
"""

import ctypes
import functools
import hashlib
import logging
import os
import pathlib
import platform
import shutil
import subprocess
import tempfile

import jax
import jax.numpy as jnp
import jaxlib

SOURCE = pathlib.Path(__file__).parent / 'kernels' / 'nlm_cpu.cc'
FLAGS = ('-O3', '-march=native', '-fopenmp-simd', '-fno-trapping-math', '-std=c++17', '-shared', '-fPIC')
FORWARD, BACKWARD = 'brainnets_nlm_forward', 'brainnets_nlm_backward'


def _cpu_flags() -> str:
  try:
    for line in pathlib.Path('/proc/cpuinfo').read_text().splitlines():
      if line.startswith('flags'):
        return line
  except OSError:
    pass
  return platform.processor()


def _library_path(compiler: str) -> pathlib.Path:
  key = hashlib.sha256(
    '\0'.join([SOURCE.read_text(), compiler, *FLAGS, jaxlib.__version__, _cpu_flags()]).encode()
  ).hexdigest()[:16]
  cache = pathlib.Path(os.environ.get('BRAINNETS_KERNEL_CACHE', pathlib.Path.home() / '.cache/brainnets/kernels'))
  return cache / f'nlm_cpu-{key}.so'


def _build(compiler: str, target: pathlib.Path) -> None:
  target.parent.mkdir(parents=True, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
    out = pathlib.Path(tmp) / target.name
    cmd = [compiler, *FLAGS, '-I', jax.ffi.include_dir(), str(SOURCE), '-o', str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    os.replace(out, target)  # atomic: another process sees no library or a whole one


@functools.cache
def available() -> bool:
  """Whether the kernel is built, loaded and registered with XLA for the CPU (built on the first call)."""
  if os.environ.get('BRAINNETS_FUSED_NLM', '1') == '0':
    return False
  compiler = shutil.which(os.environ.get('CXX', 'g++'))
  if compiler is None:
    logging.warning('fused NLM kernel: no C++ compiler (g++ or $CXX) found; the NLMs run as XLA ops')
    return False
  target = _library_path(compiler)
  try:
    if not target.exists():
      _build(compiler, target)
    library = ctypes.cdll.LoadLibrary(str(target))
  except (OSError, subprocess.CalledProcessError) as e:
    detail = getattr(e, 'stderr', '') or str(e)
    logging.warning('fused NLM kernel: building %s failed (%s); the NLMs run as XLA ops', target, detail[-2000:])
    return False
  jax.ffi.register_ffi_target(FORWARD, jax.ffi.pycapsule(library.BrainnetsNlmForward), platform='cpu')
  jax.ffi.register_ffi_target(BACKWARD, jax.ffi.pycapsule(library.BrainnetsNlmBackward), platform='cpu')
  return True


def _glu(u: jax.Array) -> jax.Array:
  a, g = jnp.split(u, 2, axis=1)
  return a * jax.nn.sigmoid(g)


def _xla_forward(x, w1, b1, t1, w2, b2, t2):
  """The same function as XLA ops (every platform but the CPU, and the reference for the tests)."""
  h = _glu((jnp.einsum('dib,dio->dob', x, w1) + b1[:, :, None]) / t1)
  return _glu((jnp.einsum('dib,dio->dob', h, w2) + b2[:, :, None]) / t2)[:, 0]


def _kernel_forward(x, w1, b1, t1, w2, b2, t2):
  out = jax.ShapeDtypeStruct((x.shape[0], x.shape[2]), jnp.float32)
  return jax.ffi.ffi_call(FORWARD, out, vmap_method='sequential')(x, w1, b1, t1, w2, b2, t2)


def _kernel_backward(x, w1, b1, t1, w2, b2, t2, g):
  outs = tuple(jax.ShapeDtypeStruct(a.shape, jnp.float32) for a in (x, w1, b1, w2, b2))
  return jax.ffi.ffi_call(BACKWARD, outs, vmap_method='sequential')(x, w1, b1, t1, w2, b2, t2, g)


def _xla_backward(x, w1, b1, t1, w2, b2, t2, g):
  _, vjp = jax.vjp(lambda x, w1, b1, w2, b2: _xla_forward(x, w1, b1, t1, w2, b2, t2), x, w1, b1, w2, b2)
  return vjp(g)


@jax.custom_vjp
def deep_nlm(x, w1, b1, t1, w2, b2, t2):
  """z (D, B) of the deep NLMs for histories x (D, M, B); see the module docstring. float32 only."""
  args = (x, w1, b1, t1, w2, b2, t2)
  return jax.lax.platform_dependent(*args, cpu=_kernel_forward, default=_xla_forward)


def _deep_nlm_fwd(*args):
  return deep_nlm(*args), args


def _deep_nlm_bwd(args, g):
  x, w1, b1, t1, w2, b2, t2 = args
  dx, dw1, db1, dw2, db2 = jax.lax.platform_dependent(*args, g, cpu=_kernel_backward, default=_xla_backward)
  # u = x . w + b is linear in w and b, so d/dt of u / t is -(sum(w * dw) + sum(b * db)) / t (dw, db of the scaled
  # output, as computed); XLA drops these when t's gradient is not used (history_scan's deferred temperatures).
  dt1 = -(jnp.sum(w1 * dw1) + jnp.sum(b1 * db1)) / t1
  dt2 = -(jnp.sum(w2 * dw2) + jnp.sum(b2 * db2)) / t2
  return dx, dw1, db1, dt1, dw2, db2, dt2


deep_nlm.defvjp(_deep_nlm_fwd, _deep_nlm_bwd)


@jax.custom_vjp
def given_deep_nlm(x, w1, b1, t1, w2, b2, t2, z):
  """z, known to equal deep_nlm(x, w1, b1, t1, w2, b2, t2), with deep_nlm's gradient (none for z): history_scan's
  backward pass hands back the NLMs' outputs saved in its forward pass instead of running them again."""
  return z


given_deep_nlm.defvjp(
  lambda *args: (args[-1], args[:-1]),
  lambda args, g: (*_deep_nlm_bwd(args, g), None),
)
