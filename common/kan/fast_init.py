"""Compile an init function cheaply: XLA backend optimisation level 0.

A jitted `model.init` runs once, but at the default level LLVM optimises every threefry call in it (one per
random parameter: pykan's init draws noise for each basis and scale), which made a two-layer S-KAN's init take
10-15 s to compile on a 2-core CPU and dominated short runs and the config smoke tests. At level 0 it compiles in
about a second. The random bits are integer arithmetic and identical at any optimisation level; float
transforms of them may round differently in the last bit (flax's truncated-normal Dense init moved by 4e-8), while
the KAN inits here come out bitwise identical (checked for KAN(widths=(2, 5, 1))). The training loop keeps the
default level for that reason: its recorded results stay bitwise reproducible.
"""

from typing import Any, Callable

import jax

_OPTIONS = {'xla_backend_optimization_level': 0}


def run_init(fn: Callable[..., Any], *args) -> Any:
  """jax.jit(fn)(*args), compiled at optimisation level 0 (for functions that run once, e.g. inits)."""
  return jax.jit(fn).lower(*args).compile(compiler_options=_OPTIONS)(*args)
