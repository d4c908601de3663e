"""The Continuous Thought Machine: T internal ticks of attend -> synapses -> neuron-level models -> synchronise.

Per tick t (reference models/ctm.py forward):
  1. S_action = synch(z, action pairs)             recurrent decayed inner product (common/ctm/synch.py)
  2. o = MultiHeadAttention(q = W_q S_action, keys/values = LayerNorm(Dense(backbone(x))))
  3. a = synapses([o; z])                           D pre-activations
  4. A = FIFO of the last M pre-activations          (D, M) per example, learnable initial trace
  5. z = NLM(A)                                     private per-neuron MLPs, no loop over neurons
  6. S_out = synch(z, out pairs); y_t = W_out S_out; certainty_t = 1 - normalised entropy(y_t)

The ticks run in lax.scan (one compiled tick body, no Python loop over ticks or neurons). Inside the tick every
array is in the column layout, features first and batch last ((D, B), (D, M, B); common/ctm/columns.py), so no
tick transposes anything; inputs and outputs are batch-major. Keys and values are projected once per input, not once
per tick (the reference recomputes them inside torch's attention each tick; the result is identical). Certainties
are computed from the stacked predictions after the scan. `adaptive` runs the same tick body in a while loop and
stops each example once its certainty passes a threshold.

Outputs of __call__: {'predictions': (B, T, out_dims), 'certainties': (B, T)}.
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.core import FrozenDict

from common.ctm import synch
from common.ctm.columns import (
  COMPUTE_DTYPES,
  MATMUL_NAME,
  ColumnAttention,
  ColumnDense,
  layer_norm,
  mixed_dense,
  with_transposed_kernels,
)
from common.ctm.history_scan import history_scan
from common.ctm.losses import certainty
from common.ctm.nlm import NeuronLevelModels
from common.ctm.synapses import make_synapses
from common.train.errors import ConfigurationError

READOUTS = ('synch', 'post')
NEURON_INDICES = 'neuron_indices'  # the variable collection of the synchronisation's neuron indices
SIDES = ('left', 'right')


def _uniform(bound: float):
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def check_common(iterations: int, d_input: int, heads: int, memory_length: int | None = None) -> None:
  """Validation shared by the CTM and the LSTM baseline."""
  if iterations < 1:
    raise ConfigurationError(f'iterations={iterations} (T, the number of internal ticks) must be at least 1.')
  if memory_length is not None and memory_length < 1:
    raise ConfigurationError(f'memory_length={memory_length} (M, the pre-activation history) must be at least 1.')
  if heads < 1:
    raise ConfigurationError(f'heads={heads} must be at least 1.')
  if d_input % heads:
    raise ConfigurationError(
      f'heads={heads} does not divide d_input={d_input}; choose heads among the divisors of d_input.'
    )


class TickAttention(nn.Module):
  """Single-query multi-head attention over pre-projected keys/values (torch.nn.MultiheadAttention's maths).

  q (B, d_input); keys, values (B, S, heads, d_head) -> (B, d_input), attention weights (B, heads, S).
  """

  d_input: int
  heads: int
  dropout: float = 0.0

  @nn.compact
  def __call__(self, q, keys, values, train: bool = False):
    d_head = self.d_input // self.heads
    q = nn.Dense(self.d_input, name='query')(q).reshape(q.shape[0], self.heads, d_head)
    logits = jnp.einsum('bhd,bshd->bhs', q, keys) / jnp.sqrt(d_head).astype(q.dtype)
    weights = jax.nn.softmax(logits, axis=-1)
    weights_dropped = nn.Dropout(self.dropout, deterministic=not train)(weights)
    out = jnp.einsum('bhs,bshd->bhd', weights_dropped, values).reshape(q.shape[0], self.d_input)
    return nn.Dense(self.d_input, name='out')(out), weights


FUSE_PROJECTIONS = True  # tests switch it off to compare both paths
TRANSPOSE_KERNELS = True  # ColumnDense's row-major fast path (columns.transposed_matmul); tests compare both paths
HISTORY_SCAN = True  # the backward pass of common/ctm/history_scan.py where it applies; tests compare both paths
DEFER_TEMPERATURE = True  # NLM temperatures' gradient once after history_scan's backward loop; tests compare both
MERGE_SYNCH = True  # one synchronisation update per tick for both readouts (CTMTick.merged_synch); tests compare both


def fuse_projections(params: dict, d_input: int, synapse_depth: int) -> dict:
  """The tick's parameters for CTMTick(fused_projections=True): composed linear maps, the same function.

  q_proj then attention.query (no nonlinearity between) -> one kernel; attention.out then the synapses' first linear
  layer, whose input is [o; z] with o the attention output -> one kernel on [heads' output; z]. Kernels are (in, out).
  """
  p = {k: dict(v) if isinstance(v, dict) else v for k, v in params.items()}
  qp, query = params['q_proj'], params['attention']['query']
  p['q_proj'] = {'kernel': qp['kernel'] @ query['kernel'], 'bias': qp['bias'] @ query['kernel'] + query['bias']}
  first = 'linear' if synapse_depth == 1 else 'first_linear'
  syn, out = params['synapses'][first], params['attention']['out']
  k_o, k_z = syn['kernel'][:d_input], syn['kernel'][d_input:]
  p['synapses'] = dict(params['synapses'])
  p['synapses'][first] = {
    'kernel': jnp.concatenate([out['kernel'] @ k_o, k_z], axis=0),
    'bias': out['bias'] @ k_o + syn['bias'],
  }
  return p


class CTMTick(nn.Module):
  """One internal tick, column layout. carry = (trace (D, M, B), z (D, B), alpha_a, beta_a (P_a, B), alpha_o,
  beta_o (P_o, B)); returns (carry, (y (out_dims, B), attention weights (heads, S, B))).

  merged_synch=P_o: the carry is (trace, z, alpha, beta (P_o + P_a, B), s_action (P_a, B)) instead. The out readout
  of tick t and the action readout of tick t + 1 both update from z_t, so the tick updates both accumulators at its
  end in one step and carries the next tick's action readout (CTM._prepare makes the first one from z_0). The same
  arithmetic, in fewer and larger ops per tick.

  The NLMs' per-neuron contractions run as fused vectorised loops over the minor batch axis (common/ctm/nlm.py,
  layout 'dib'), and the synapses, attention and synchronisation read and write the same layout.
  """

  d_model: int
  d_input: int
  heads: int
  synapse_depth: int
  memory_length: int
  deep_nlms: bool
  memory_hidden_dims: int
  out_dims: int
  prediction_reshaper: Sequence[int]
  dropout: float
  dropout_nlm: float
  shared_nlm: bool
  readout: str
  unet_min_width: int
  layer_norm_nlm: bool = False
  compute_dtype: Any = None
  fused_projections: bool = False  # params from fuse_projections(): q_proj holds q_proj∘query, the synapses' first
  #                                  kernel holds attention.out∘(its attention rows); two matmuls fewer per tick
  merged_synch: int | None = None  # P_o, for the merged carry described above; None: the reference's two updates

  @nn.compact
  def __call__(self, carry, consts, train: bool = False, project: bool = True):
    if self.merged_synch is None:
      trace, z, alpha_a, beta_a, alpha_o, beta_o = carry
      pp_a = synch.pair_products(z, consts['action_left'], consts['action_right'], columns=True)
      s_action, alpha_a, beta_a = synch.update(alpha_a, beta_a, pp_a, consts['r_action'][:, None])
    else:
      trace, z, alpha, beta, s_action = carry

    cd = self.compute_dtype
    q = ColumnDense(self.d_input, compute_dtype=cd, name='q_proj')(s_action)
    fused = self.fused_projections
    o, attn = ColumnAttention(
      self.d_input, self.heads, self.dropout, cd, project_query=not fused, project_out=not fused, name='attention'
    )(q, consts['keys'], consts['values'], train)

    synapses = make_synapses(self.d_model, self.synapse_depth, self.dropout, self.unet_min_width, 'synapses', True, cd)
    a = synapses(jnp.concatenate([o, z], axis=0), train)
    # The barrier materialises the new history: without it XLA fuses the synapses' LayerNorm into the NLMs' loop and
    # recomputes it for each of the 2H outputs of every neuron (seen in a per-op profile of the parity-16 step on CPU).
    trace = jax.lax.optimization_barrier(jnp.concatenate([trace[:, 1:], a[:, None, :]], axis=1))
    nlm = NeuronLevelModels(
      self.memory_length,
      self.memory_hidden_dims,
      self.deep_nlms,
      self.shared_nlm,
      self.dropout_nlm,
      layout='dib',
      layer_norm=self.layer_norm_nlm,
      name='nlm',
    )
    z = nlm(trace, train)

    if self.merged_synch is None:
      pp_o = synch.pair_products(z, consts['out_left'], consts['out_right'], columns=True)
      s_out, alpha_o, beta_o = synch.update(alpha_o, beta_o, pp_o, consts['r_out'][:, None])
      carry = (trace, z, alpha_a, beta_a, alpha_o, beta_o)
    else:
      # This tick's out readout and the next tick's action readout both update from this z: one gather and one
      # update over the P_o + P_a pairs (the same arithmetic as two, in fewer ops per tick).
      pp = synch.pair_products(z, consts['pair_left'], consts['pair_right'], columns=True)
      s_both, alpha, beta = synch.update(alpha, beta, pp, consts['r'][:, None])
      s_out, s_action = s_both[: self.merged_synch], s_both[self.merged_synch :]
      carry = (trace, z, alpha, beta, s_action)
    readout = s_out if self.readout == 'synch' else z
    # project=False returns the readout vector instead; CTM.__call__ projects all ticks at once after the scan.
    y = ColumnDense(self.out_dims, name='output_projector')(readout) if project else readout
    return carry, (y, attn)


class CTM(nn.Module):
  """Continuous Thought Machine. Defaults are the issue's parity-16 benchmark workload.

  Attributes:
    iterations: T, internal ticks.           d_model: D, neurons.          d_input: attention width.
    heads: attention heads (must divide d_input).
    n_synch_out / n_synch_action: neurons (first-last, random) or pairs (random-pairing) for each readout.
    synapse_depth: 1 -> Linear-GLU-LayerNorm, > 1 -> U-Net MLP.
    memory_length: M, pre-activation history length.    deep_nlms / memory_hidden_dims: NLM shape (H).
    out_dims / prediction_reshaper: output size and the shape whose last axis is softmaxed for certainty.
    dropout (synapses, attention), dropout_nlm (None -> dropout).
    neuron_select_type: 'first-last' | 'random' | 'random-pairing'; n_random_pairing_self forced self pairs.
    selection_seed: numpy seed of the random pair selection when `neuron_indices` is not given.
    neuron_indices: explicit selection {'out_left', 'out_right', 'action_left', 'action_right'} -> n_synch_out /
      n_synch_action neuron indices each (the reference's `*_neuron_indices_*` buffers; random-pairing pairs may
      repeat), or None to draw them from selection_seed. Either way they are initial values: the indices live in
      the variable collection 'neuron_indices' (model state, so checkpointed and restored with the model), and a
      restored checkpoint's indices are the ones used. Applied without that collection, the CTM uses these.
    do_layernorm_nlm: LayerNorm over each NLM layer's inputs (the reference's option; off in the paper).
    compute_dtype: 'float32' or 'bfloat16'. With 'bfloat16' the synapses' and the attention's matmuls (query, key
      and value projections, both attention contractions, output projection) take bfloat16 operands and accumulate
      in float32; parameters, LayerNorms, softmax, NLMs, synchronisation and the readout stay float32.
    backbone: a module inputs -> (B, S, F) tokens.
    shared_nlm: ablation, one MLP shared by all neurons instead of private NLMs.
    readout: 'synch' (paper) or 'post' (ablation: y_t = W z_t from the post-activations).
    remat_ticks: recompute each tick's intermediates in the backward pass, except the outputs of the dense layers'
      matmuls, which are saved (faster on CPU than saving everything or nothing, and far less memory).
  """

  iterations: int = 16
  d_model: int = 256
  d_input: int = 64
  heads: int = 4
  n_synch_out: int = 32
  n_synch_action: int = 32
  synapse_depth: int = 1
  memory_length: int = 8
  deep_nlms: bool = True
  memory_hidden_dims: int = 8
  out_dims: int = 32
  prediction_reshaper: Sequence[int] = (-1,)
  dropout: float = 0.0
  dropout_nlm: float | None = None
  neuron_select_type: str = 'random-pairing'
  n_random_pairing_self: int = 0
  selection_seed: int = 0
  neuron_indices: Any = None
  do_layernorm_nlm: bool = False
  compute_dtype: str = 'float32'
  backbone: Any = None
  shared_nlm: bool = False
  readout: str = 'synch'
  unet_min_width: int = 16
  remat_ticks: bool = True

  def __post_init__(self):
    if self.neuron_indices is not None and not isinstance(self.neuron_indices, FrozenDict):
      # Hashable like every other attribute (gin gives lists; jit with a static module hashes it).
      if not hasattr(self.neuron_indices, 'items'):
        raise ConfigurationError(f'neuron_indices={self.neuron_indices!r} must be a mapping of name -> indices.')
      arrays = {k: np.asarray(v) for k, v in self.neuron_indices.items()}
      for k, a in arrays.items():
        if a.ndim != 1:
          raise ConfigurationError(f'neuron_indices[{k!r}] has shape {a.shape}; give one flat list of indices.')
      frozen = FrozenDict({k: tuple(a.tolist()) for k, a in arrays.items()})
      object.__setattr__(self, 'neuron_indices', frozen)
    super().__post_init__()
    check_common(self.iterations, self.d_input, self.heads, self.memory_length)
    if self.d_model < 1:
      raise ConfigurationError(f'd_model={self.d_model} must be at least 1.')
    if self.synapse_depth < 1:
      raise ConfigurationError(f'synapse_depth={self.synapse_depth} must be at least 1.')
    if self.memory_hidden_dims < 1:
      raise ConfigurationError(f'memory_hidden_dims={self.memory_hidden_dims} must be at least 1.')
    if self.compute_dtype not in COMPUTE_DTYPES:
      raise ConfigurationError(
        f'compute_dtype={self.compute_dtype!r} is unknown; choose one of {sorted(COMPUTE_DTYPES)}.'
      )
    if self.readout not in READOUTS:
      raise ConfigurationError(f'readout={self.readout!r} is unknown; choose one of {READOUTS}.')
    if self.n_synch_action < 1:
      raise ConfigurationError(f'n_synch_action={self.n_synch_action} must be at least 1 (it forms the query).')
    synch.validate(
      self.neuron_select_type,
      self.d_model,
      self.n_synch_out,
      self.n_synch_action,
      self.n_random_pairing_self,
      explicit=self.neuron_indices is not None,
    )
    if self.neuron_indices is not None:
      self.initial_neuron_indices()  # raises ConfigurationError on bad names, lengths or values
    size = 1
    for s in self.prediction_reshaper:
      size *= s if s != -1 else 1
    if -1 not in tuple(self.prediction_reshaper) and size != self.out_dims:
      raise ConfigurationError(
        f'prediction_reshaper={tuple(self.prediction_reshaper)} has {size} entries but out_dims={self.out_dims}.'
      )

  def setup(self):
    d, m = self.d_model, self.memory_length
    self.start_activated_state = self.param('start_activated_state', _uniform((1.0 / d) ** 0.5), (d,))
    self.start_trace = self.param('start_trace', _uniform((1.0 / (d + m)) ** 0.5), (d, m))
    sizes = {
      k: synch.synch_size(self.neuron_select_type, n)
      for k, n in (('out', self.n_synch_out), ('action', self.n_synch_action))
    }
    self.decay_params_out = self.param('decay_params_out', nn.initializers.zeros, (sizes['out'],))
    self.decay_params_action = self.param('decay_params_action', nn.initializers.zeros, (sizes['action'],))
    self.indices = self._index_variables()
    self.kv_proj = nn.Dense(self.d_input)
    self.kv_norm = layer_norm()
    self.attn_key = mixed_dense(self.d_input, COMPUTE_DTYPES[self.compute_dtype])
    self.attn_value = mixed_dense(self.d_input, COMPUTE_DTYPES[self.compute_dtype])
    tick = self._tick_module()
    # The tick's parameters are one pytree created by the tick module's own init (shapes do not depend on the batch
    # or the number of input tokens), so the hot loop can be a plain lax.scan over tick.apply, with remat.
    self.tick = self.param('tick', lambda rng: tick.init(rng, *self._dummy_tick_inputs())['params'])

  def _index_variables(self) -> dict[str, jax.Array]:
    """The per-side neuron indices: variables of the 'neuron_indices' collection (created at init), or the initial
    values when applied without that collection."""
    out = {}
    for name, value in self.initial_neuron_indices().items():
      if self.is_initializing() or self.has_variable(NEURON_INDICES, name):
        out[name] = self.variable(NEURON_INDICES, name, lambda v=value: jnp.asarray(v)).value
      else:
        out[name] = jnp.asarray(value)
    return out

  def _tick_module(self, fused_projections: bool = False, merge_synch: bool = False) -> CTMTick:
    return CTMTick(
      d_model=self.d_model,
      d_input=self.d_input,
      heads=self.heads,
      synapse_depth=self.synapse_depth,
      memory_length=self.memory_length,
      deep_nlms=self.deep_nlms,
      memory_hidden_dims=self.memory_hidden_dims,
      out_dims=self.out_dims,
      prediction_reshaper=tuple(self.prediction_reshaper),
      dropout=self.dropout,
      dropout_nlm=self.dropout if self.dropout_nlm is None else self.dropout_nlm,
      shared_nlm=self.shared_nlm,
      readout=self.readout,
      unet_min_width=self.unet_min_width,
      layer_norm_nlm=self.do_layernorm_nlm,
      compute_dtype=COMPUTE_DTYPES[self.compute_dtype],
      fused_projections=fused_projections,
      merged_synch=synch.synch_size(self.neuron_select_type, self.n_synch_out) if merge_synch else None,
      parent=None,
    )

  def _dummy_tick_inputs(self):
    d, m, h = self.d_model, self.memory_length, self.heads
    n_o = synch.synch_size(self.neuron_select_type, self.n_synch_out)
    n_a = synch.synch_size(self.neuron_select_type, self.n_synch_action)
    zo, za = jnp.zeros((n_o, 1)), jnp.zeros((n_a, 1))
    carry = (jnp.zeros((d, m, 1)), jnp.zeros((d, 1)), za, za, zo, zo)
    consts = {'keys': jnp.zeros((h, self.d_input // h, 1, 1)), 'values': jnp.zeros((h, self.d_input // h, 1, 1))}
    sizes = (('out', n_o), ('action', n_a))
    idx = {f'{kind}_{side}': jnp.zeros((n,), jnp.int32) for kind, n in sizes for side in SIDES}
    consts.update(r_out=zo[:, 0], r_action=za[:, 0], **idx)  # shapes only: the tick's init reads no index values
    return carry, consts

  def _selectors(self) -> dict[str, jax.Array]:
    """Flat pair indices of both readouts from the index variables (the tick's column layout gathers by index)."""
    out = {}
    for kind in ('out', 'action'):
      out[f'{kind}_left'], out[f'{kind}_right'] = synch.expand_pairs(
        self.neuron_select_type, self.indices[f'{kind}_left'], self.indices[f'{kind}_right']
      )
    return out

  def _tick_fn(self, consts, train: bool, project: bool = True):
    """A pure function (carry, t) -> (carry, (y, attention)) running one tick with this CTM's params; y is the
    prediction, or with project=False the readout vector (synchronisation, or z for readout='post')."""
    tick, params, drop_key = self._tick_parts(train)

    def step(carry, t):
      rngs = {'dropout': jax.random.fold_in(drop_key, t)} if drop_key is not None else {}
      return tick.apply({'params': params}, carry, consts, train, project, rngs=rngs)

    return step

  def _tick_parts(self, train: bool):
    """(tick module, the params it applies with, dropout key or None)."""
    # The linear maps q_proj -> attention.query and attention.out -> synapses are composed once per call instead of
    # applied every tick; not while the synapses' input dropout sits between attention.out and the synapses.
    fused = FUSE_PROJECTIONS and not (train and self.dropout > 0)
    tick = self._tick_module(fused, MERGE_SYNCH)
    params = fuse_projections(self.tick, self.d_input, self.synapse_depth) if fused else self.tick
    if TRANSPOSE_KERNELS:
      params = with_transposed_kernels(params)
    return tick, params, self.make_rng('dropout') if self._dropout(train) else None

  def _dropout(self, train: bool) -> bool:
    return train and (self.dropout > 0 or (self.dropout_nlm or 0) > 0)

  def initial_neuron_indices(self) -> dict[str, np.ndarray]:
    """Per-side neuron indices (numpy int32) before any restore: `neuron_indices` if given, else drawn from
    selection_seed. Keys out_left, out_right (n_synch_out each), action_left, action_right (n_synch_action each)."""
    sizes = {'out': self.n_synch_out, 'action': self.n_synch_action}
    if self.neuron_indices is not None:
      given = dict(self.neuron_indices)
      expected = {f'{kind}_{side}' for kind in sizes for side in SIDES}
      if set(given) != expected:
        raise ConfigurationError(f'neuron_indices has keys {sorted(given)}; it must have exactly {sorted(expected)}.')
      return {k: synch.check_indices(k, v, sizes[k.split('_')[0]], self.d_model) for k, v in given.items()}
    out = {}
    for kind, n in sizes.items():
      left, right = synch.select_neurons(
        self.neuron_select_type, self.d_model, n, kind, self.n_random_pairing_self, self.selection_seed
      )
      out[f'{kind}_left'], out[f'{kind}_right'] = left, right
    return out

  def pair_indices(self) -> dict[str, np.ndarray]:
    """Flat (numpy) pair indices of both readouts from `initial_neuron_indices` (what the CTM uses unless a restored
    'neuron_indices' collection says otherwise)."""
    idx, out = self.initial_neuron_indices(), {}
    for kind in ('out', 'action'):
      out[f'{kind}_left'], out[f'{kind}_right'] = synch.expand_pairs(
        self.neuron_select_type, idx[f'{kind}_left'], idx[f'{kind}_right']
      )
    return out

  def features(self, x: jax.Array, train: bool = False) -> jax.Array:
    """The tokens the ticks attend over: LayerNorm(Dense(backbone(x))), (B, S, d_input) (reference compute_features)."""
    tokens = self.backbone(x, train=train) if self.backbone is not None else x
    return self.kv_norm(self.kv_proj(tokens))

  def _prepare(self, x, train: bool):
    """Features, tick-invariant constants and the initial carry, in the tick's column layout."""
    kv = self.features(x, train)
    b, s = kv.shape[:2]
    d_head = self.d_input // self.heads
    cd = COMPUTE_DTYPES[self.compute_dtype] or kv.dtype  # keys and values are only ever matmul operands
    heads_first = lambda t: jnp.transpose(t.reshape(b, s, self.heads, d_head), (2, 3, 1, 0)).astype(cd)  # noqa: E731
    consts = {
      'keys': heads_first(self.attn_key(kv)),  # (heads, d_head, S, B)
      'values': heads_first(self.attn_value(kv)),
      'r_out': jnp.exp(-synch.clamp_decay(self.decay_params_out)),
      'r_action': jnp.exp(-synch.clamp_decay(self.decay_params_action)),
    }
    consts.update(self._selectors())
    z0 = jnp.broadcast_to(self.start_activated_state[:, None], (self.d_model, b))
    trace0 = jnp.broadcast_to(self.start_trace[:, :, None], (self.d_model, self.memory_length, b))
    # The out accumulator is seeded once from the start state (reference); the action one starts empty, which with
    # alpha = beta = 0 reproduces its first step alpha = z_i z_j, beta = 1.
    pp_o = synch.pair_products(z0, consts['out_left'], consts['out_right'], columns=True)
    if MERGE_SYNCH:
      # The merged tick carries the action readout it will use (here the first step's, alpha = z_i z_j, beta = 1)
      # and one accumulator for both readouts, out pairs first.
      pp_a = synch.pair_products(z0, consts['action_left'], consts['action_right'], columns=True)
      alpha = jnp.concatenate([pp_o, pp_a])
      merged = {
        'pair_left': jnp.concatenate([consts.pop('out_left'), consts.pop('action_left')]),
        'pair_right': jnp.concatenate([consts.pop('out_right'), consts.pop('action_right')]),
        'r': jnp.concatenate([consts.pop('r_out'), consts.pop('r_action')]),
      }
      return (trace0, z0, alpha, jnp.ones_like(alpha), pp_a), {**consts, **merged}
    zeros_a = jnp.zeros((synch.synch_size(self.neuron_select_type, self.n_synch_action), b), kv.dtype)
    carry = (trace0, z0, zeros_a, zeros_a, pp_o, jnp.ones_like(pp_o))
    return carry, consts

  def __call__(self, x: jax.Array, train: bool = False) -> dict[str, jax.Array]:
    carry, consts = self._prepare(x, train)
    if self.is_initializing():
      # Every parameter exists once _prepare has run (the tick's come from its own init in setup), so init skips the
      # tick scan: compiling it again inside the jitted init only costs time (about a second on CPU).
      b = x.shape[0]
      return {
        'predictions': jnp.zeros((b, self.iterations, self.out_dims), carry[1].dtype),
        'certainties': jnp.zeros((b, self.iterations), carry[1].dtype),
      }

    # history_scan reuses the dense layers' saved outputs, which ColumnDense keeps on its float32 row-major path,
    # and replays ticks without dropout masks.
    float32 = self.compute_dtype == 'float32' and TRANSPOSE_KERNELS
    if HISTORY_SCAN and self.remat_ticks and not self._dropout(train) and float32:
      readouts = self._history_scan(carry, consts, train)
    else:
      readouts = self._scan(carry, consts, train)
    # The output projection has no recurrence, so it runs once over every tick's readout instead of inside the
    # scan, where it cost a matmul, a bias and their gradients' accumulations per tick.
    proj = self.tick['output_projector']
    predictions = jnp.einsum('tpb,po->bto', readouts, proj['kernel']) + proj['bias']  # (B, T, out_dims)
    return {'predictions': predictions, 'certainties': certainty(predictions, self.prediction_reshaper)}

  def _history_scan(self, carry, consts, train):
    tick, params, _ = self._tick_parts(train)

    def tick_apply(variables, c, cs, mutable):
      return tick.apply(variables, c, cs, train, False, mutable=mutable)

    floats = {k: v for k, v in consts.items() if jnp.issubdtype(v.dtype, jnp.floating)}
    indices = {k: v for k, v in consts.items() if k not in floats}
    layers = [('nlm', name) for name in ('layer1', 'layer2') if name in params['nlm']] if DEFER_TEMPERATURE else []
    return history_scan(tick_apply, params, floats, indices, carry, self.iterations, layers)

  def _scan(self, carry, consts, train):
    step = self._tick_fn(consts, train, project=False)
    if self.remat_ticks:
      # Saving the (small) matmul outputs spares the backward pass recomputing the synapses' matmul (faster on CPU);
      # saving every residual instead writes ~40 MB per step (slower). ColumnDense's transposed_matmul is a custom
      # VJP, which the dots policy does not see, so its output is saved by name.
      policies = jax.checkpoint_policies
      saved = policies.save_from_both_policies(
        policies.dots_with_no_batch_dims_saveable, policies.save_only_these_names(MATMUL_NAME)
      )
      step = jax.checkpoint(step, policy=saved)
    _, (readouts, _) = jax.lax.scan(step, carry, jnp.arange(self.iterations))  # (T, P, B)
    return readouts

  def adaptive(self, x: jax.Array, threshold: float) -> dict[str, jax.Array]:
    """Inference that stops each example at the first tick whose certainty reaches `threshold`.

    Runs the tick body in a while loop that ends when every example has halted or T ticks have run, so a batch of
    easy inputs costs fewer ticks (a single example costs exactly its own ticks). Examples that never reach the
    threshold use all T ticks and report the last tick's prediction.

    Returns {'predictions': (B, out_dims) at the halting tick, 'certainties': (B,), 'ticks_used': (B,) int32 in
    1..T, 'halted': (B,) bool (reached the threshold)}.
    """
    carry, consts = self._prepare(x, False)
    b = x.shape[0]
    init = {
      'state': carry,
      't': jnp.zeros((), jnp.int32),
      'halted': jnp.zeros((b,), bool),
      'ticks_used': jnp.full((b,), self.iterations, jnp.int32),
      'predictions': jnp.zeros((b, self.out_dims), jnp.float32),
      'certainties': jnp.zeros((b,), jnp.float32),
    }

    step = self._tick_fn(consts, False)

    def cond(c):
      return jnp.logical_and(c['t'] < self.iterations, ~jnp.all(c['halted']))

    def body(c):
      state, (y, _) = step(c['state'], c['t'])
      y = y.T
      cert = certainty(y, self.prediction_reshaper)
      t = c['t'] + 1
      last = t == self.iterations
      newly = (~c['halted']) & ((cert >= threshold) | last)
      return {
        'state': state,
        't': t,
        'halted': c['halted'] | (cert >= threshold),
        'ticks_used': jnp.where(newly & (cert >= threshold), t, c['ticks_used']),
        'predictions': jnp.where(newly[:, None], y.astype(jnp.float32), c['predictions']),
        'certainties': jnp.where(newly, cert.astype(jnp.float32), c['certainties']),
      }

    out = jax.lax.while_loop(cond, body, init)
    return {k: out[k] for k in ('predictions', 'certainties', 'ticks_used', 'halted')}
