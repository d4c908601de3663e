"""Reference CTM checkpoints -> this repository's CTM variables and a finished-run checkpoint.

The reference (SakanaAI/continuous-thought-machines, models/ctm.py) stores a torch state_dict; `dump_reference.py`
writes it to an npz in a torch environment. `reference_variables(state_dict, model, inputs)` maps it onto the
variables of a matching `common.ctm.ctm.CTM` (same hyperparameters, backbone and positional embedding), and
`save_finished_run` writes them as the train state (common/train/state.create_state) at step `num_steps`, so
`launch --gin_file=<matching config> --workdir=W` restores it, trains no further step and only evaluates.
`python -m launch.import_ctm_reference` does both from a gin config.

Mapping (torch -> flax): Linear weight (out, in) -> kernel (in, out); Conv2d weight (out, in/groups, kh, kw) ->
kernel (kh, kw, in/groups, out); LayerNorm weight -> scale; BatchNorm weight/bias -> params scale/bias and
running_mean/var -> 'batch_stats' mean/var (num_batches_tracked is dropped); MultiheadAttention in_proj (q; k; v)
-> tick/attention/query, attn_key, attn_value; SuperLinear w1 (in, out, D) -> w (D, in, out), b1 (1, D, out) -> b,
T (1,) -> temperature (); the synchronisation buffers `{out,action}_neuron_indices_{left,right}` -> the
'neuron_indices' collection. Every leaf of our variables must be filled with the right shape and every
state_dict entry used, else ConfigurationError lists what differs (usually a hyperparameter of the gin config).
Backbones: ParityBackbone ('parity_backbone' + 'custom-rotational-1d'), ResNetBackbone ('resnet*-*'),
ShallowWideBackbone ('shallow-wide'), or none; positional embeddings of common/ctm/positional.py.
"""

import functools
import re
from typing import Any, Mapping

import jax
import numpy as np
from flax import traverse_util

from common.ctm.backbones import ParityBackbone, ResNetBackbone, ShallowWideBackbone
from common.ctm.ctm import CTM, NEURON_INDICES
from common.ctm.positional import CustomRotational, LearnableFourier, MultiLearnableFourier
from common.train import state as state_lib
from common.train.checkpoint import Checkpointer
from common.train.errors import ConfigurationError

IGNORED = ('num_batches_tracked',)


def _linear(w):
  return np.transpose(w)


def _conv(w):
  return np.transpose(w, (2, 3, 1, 0))


# Module prefixes of the reference (regex on the key without its last component) -> (our path, kind).
_CORE_MODULES = [
  (r'kv_proj\.0', ('params', 'kv_proj'), 'linear'),
  (r'kv_proj\.1', ('params', 'kv_norm'), 'norm'),
  (r'q_proj', ('params', 'tick', 'q_proj'), 'linear'),
  (r'attention\.out_proj', ('params', 'tick', 'attention', 'out'), 'linear'),
  (r'synapses\.1', ('params', 'tick', 'synapses', 'linear'), 'linear'),
  (r'synapses\.3', ('params', 'tick', 'synapses', 'norm'), 'norm'),
  (r'synapses\.first_projection\.0', ('params', 'tick', 'synapses', 'first_linear'), 'linear'),
  (r'synapses\.first_projection\.1', ('params', 'tick', 'synapses', 'first_norm'), 'norm'),
  (r'synapses\.down_projections\.(\d+)\.1', ('params', 'tick', 'synapses', 'down{0}_linear'), 'linear'),
  (r'synapses\.down_projections\.(\d+)\.2', ('params', 'tick', 'synapses', 'down{0}_norm'), 'norm'),
  (r'synapses\.up_projections\.(\d+)\.1', ('params', 'tick', 'synapses', 'up{0}_linear'), 'linear'),
  (r'synapses\.up_projections\.(\d+)\.2', ('params', 'tick', 'synapses', 'up{0}_norm'), 'norm'),
  (r'synapses\.skip_lns\.(\d+)', ('params', 'tick', 'synapses', 'skip{0}_norm'), 'norm'),
  (r'trace_processor\.0\.0', ('params', 'tick', 'nlm', 'layer1'), 'superlinear'),
  (r'trace_processor\.0\.2', ('params', 'tick', 'nlm', 'layer2'), 'superlinear'),
  (r'output_projector\.0', ('params', 'tick', 'output_projector'), 'linear'),
]
_PARITY_MODULES = [
  (r'positional_embedding\.projection', ('params', 'backbone', 'posemb'), 'linear'),
]
_RESNET_MODULES = [
  (r'initial_rgb', ('params', 'backbone', 'initial_rgb'), 'conv'),
  (r'backbone\.conv1', ('params', 'backbone', 'conv1'), 'conv'),
  (r'backbone\.bn1', ('params', 'backbone', 'bn1'), 'batchnorm'),
  (r'backbone\.layer(\d)\.(\d+)\.(conv\d)', ('params', 'backbone', 'layer{0}_{1}', '{2}'), 'conv'),
  (r'backbone\.layer(\d)\.(\d+)\.(bn\d)', ('params', 'backbone', 'layer{0}_{1}', '{2}'), 'batchnorm'),
  (r'backbone\.layer(\d)\.(\d+)\.downsample\.0', ('params', 'backbone', 'layer{0}_{1}', 'downsample_conv'), 'conv'),
  (r'backbone\.layer(\d)\.(\d+)\.downsample\.1', ('params', 'backbone', 'layer{0}_{1}', 'downsample_bn'), 'batchnorm'),
]
_SHALLOW_WIDE_MODULES = [
  (r'backbone\.layers\.0', ('params', 'backbone', 'conv1'), 'conv'),
  (r'backbone\.layers\.2', ('params', 'backbone', 'bn1'), 'batchnorm'),
  (r'backbone\.layers\.3', ('params', 'backbone', 'conv2'), 'conv'),
  (r'backbone\.layers\.5', ('params', 'backbone', 'bn2'), 'batchnorm'),
]
_EMBEDDER = r'positional_embedding(?:\.embedders\.(\d+))?'  # multi-learnable-fourier's embedders, or the single one
_POS = ('params', 'backbone', 'positional', '*')
_POSITIONAL_MODULES = [  # 2-D embeddings, held by the image backbones as 'positional'
  (_EMBEDDER + r'\.Wr', _POS + ('Wr',), 'linear'),
  (_EMBEDDER + r'\.mlp\.0', _POS + ('mlp_in',), 'linear'),
  (_EMBEDDER + r'\.mlp\.2', _POS + ('mlp_out',), 'linear'),
  (_EMBEDDER + r'\.mlp\.3', _POS + ('norm',), 'norm'),
  (r'positional_embedding\.projection\.0', ('params', 'backbone', 'positional', 'projection'), 'linear'),
]
_LEAVES = {  # whole keys -> our path
  'start_activated_state': ('params', 'start_activated_state'),
  'start_trace': ('params', 'start_trace'),
  'decay_params_out': ('params', 'decay_params_out'),
  'decay_params_action': ('params', 'decay_params_action'),
  'positional_embedding.combination': ('params', 'backbone', 'positional', 'combination'),
  'positional_embedding.start_vector': ('params', 'backbone', 'positional', 'start_vector'),
}
_KIND_LEAVES = {
  'linear': {'weight': ('kernel', _linear), 'bias': ('bias', None)},
  'conv': {'weight': ('kernel', _conv), 'bias': ('bias', None)},
  'norm': {'weight': ('scale', None), 'bias': ('bias', None)},
  'superlinear': {
    'w1': ('w', lambda w: np.transpose(w, (2, 0, 1))),
    'b1': ('b', lambda b: b[0]),
    'T': ('temperature', lambda t: np.reshape(t, ())),
    'layernorm.weight': ('norm_scale', None),
    'layernorm.bias': ('norm_bias', None),
  },
}


def _module_table(model: CTM) -> list:
  backbone = model.backbone
  if backbone is None:
    return _CORE_MODULES
  if isinstance(backbone, ParityBackbone):
    return _CORE_MODULES + _PARITY_MODULES
  if isinstance(backbone, ResNetBackbone):
    return _CORE_MODULES + _RESNET_MODULES + _POSITIONAL_MODULES
  if isinstance(backbone, ShallowWideBackbone):
    return _CORE_MODULES + _SHALLOW_WIDE_MODULES + _POSITIONAL_MODULES
  raise ConfigurationError(
    f'CTM.backbone={type(backbone).__name__} has no reference counterpart to convert from; the converter knows '
    'ParityBackbone, ResNetBackbone, ShallowWideBackbone and no backbone.'
  )


def _fill_path(template: tuple, groups: tuple) -> tuple:
  if '*' in template:  # multi-learnable-fourier: embedder_{i}; single learnable-fourier: no extra level
    i = template.index('*')
    template = template[:i] + ((f'embedder_{groups[0]}',) if groups[0] is not None else ()) + template[i + 1 :]
    groups = groups[1:]
  return tuple(part.format(*groups) for part in template)


def _targets(key: str, value: np.ndarray, table: list) -> list[tuple[tuple, np.ndarray]]:
  """One reference entry -> [(our path, array)], [] for entries that have no counterpart by design."""
  if key.split('.')[-1] in IGNORED:
    return []
  if key in _LEAVES:
    return [(_LEAVES[key], value)]
  m = re.fullmatch(r'(out|action)_neuron_indices_(left|right)', key)
  if m:
    return [((NEURON_INDICES, f'{m[1]}_{m[2]}'), value.astype(np.int32))]
  if key == 'backbone.embedding.weight':
    return [(('params', 'backbone', 'embed'), value)]
  if key in ('attention.in_proj_weight', 'attention.in_proj_bias'):
    q, k, v = np.split(value, 3, axis=0)
    leaf = 'kernel' if key.endswith('weight') else 'bias'
    prep = _linear if leaf == 'kernel' else (lambda a: a)
    return [
      (('params', 'tick', 'attention', 'query', leaf), prep(q)),
      (('params', 'attn_key', leaf), prep(k)),
      (('params', 'attn_value', leaf), prep(v)),
    ]
  for pattern, template, kind in table:
    for split in range(1, key.count('.') + 1):  # leaf names of one component first ('w1'), then 'layernorm.weight'
      prefix, leaf = key.rsplit('.', split)[0], '.'.join(key.split('.')[-split:])
      m = re.fullmatch(pattern, prefix)
      if not m:
        continue
      path = _fill_path(template, m.groups())
      if kind == 'batchnorm':
        stats = {'running_mean': 'mean', 'running_var': 'var'}
        if leaf in stats:
          return [(('batch_stats',) + path[1:] + (stats[leaf],), value)]
        kind = 'norm'
      if leaf in _KIND_LEAVES[kind]:
        name, fn = _KIND_LEAVES[kind][leaf]
        return [(path + (name,), fn(value) if fn else value)]
  raise KeyError(key)


def map_entry(key: str, value: np.ndarray, model: CTM) -> list[tuple[tuple, np.ndarray]]:
  """One state_dict entry (or its gradient: every mapping is a transpose, split or reshape) -> [(our variable path,
  array)]; [] for entries without a counterpart by design (num_batches_tracked). KeyError if unknown."""
  return _targets(key, np.asarray(value), _module_table(model))


def reference_variables(state_dict: Mapping[str, np.ndarray], model: CTM, inputs: Any) -> dict[str, Any]:
  """A reference CTM's state_dict (name -> array) -> variables for `model.apply` ({'params', 'neuron_indices',
  'batch_stats' if the backbone has BatchNorm}).

  `inputs` is an example input batch (e.g. task.init_inputs()); only its shape is used, to know our variables'
  shapes. Raises ConfigurationError if the state_dict does not fit `model` (a key without counterpart, a missing
  variable, or a shape that differs, each named).
  """
  key = jax.random.PRNGKey(0)
  abstract = jax.eval_shape(functools.partial(state_lib.init_variables, model, inputs), key)
  expected = traverse_util.flatten_dict(dict(abstract))
  table = _module_table(model)
  filled, unknown = {}, []
  for name, value in state_dict.items():
    if name == 'reference_args':
      continue
    try:
      targets = _targets(name, np.asarray(value), table)
    except KeyError:
      unknown.append(name)
      continue
    for path, array in targets:
      filled[path] = (name, array)
  problems = [f'{name}: no counterpart in this CTM' for name in unknown]
  for path, (name, array) in sorted(filled.items()):
    if path not in expected:
      problems.append(f'{name} -> {"/".join(path)}: this CTM has no such variable')
    elif tuple(array.shape) != tuple(expected[path].shape):
      problems.append(f'{name} -> {"/".join(path)}: shape {array.shape} but this CTM has {expected[path].shape}')
  problems += [f'{"/".join(p)}: not in the state_dict' for p in sorted(set(expected) - set(filled))]
  if problems:
    shown = '\n  '.join(problems[:20]) + (f'\n  ... and {len(problems) - 20} more' if len(problems) > 20 else '')
    raise ConfigurationError(
      f'the reference state_dict does not fit this CTM ({len(problems)} differences):\n  {shown}\n'
      "Check that the gin config has the reference run's hyperparameters (d_model, d_input, heads, n_synch_*, "
      'synapse_depth, memory_length, memory_hidden_dims, deep_nlms, do_layernorm_nlm, neuron_select_type, out_dims, '
      'backbone and positional embedding).'
    )
  flat = {p: np.asarray(a, expected[p].dtype) for p, (_, a) in filled.items()}
  return traverse_util.unflatten_dict(flat)


_SAME_NAMES = (
  'iterations',
  'd_model',
  'd_input',
  'heads',
  'n_synch_out',
  'n_synch_action',
  'synapse_depth',
  'memory_length',
  'deep_nlms',
  'memory_hidden_dims',
  'do_layernorm_nlm',
  'out_dims',
  'dropout',
  'dropout_nlm',
  'neuron_select_type',
  'n_random_pairing_self',
)
_POSITIONAL = {
  'learnable-fourier': lambda: LearnableFourier(gamma=1 / 2.5),
  'multi-learnable-fourier': MultiLearnableFourier,
  'custom-rotational': CustomRotational,
  'none': lambda: None,
}


def model_from_reference_args(kwargs: Mapping[str, Any], **overrides) -> CTM:
  """The CTM matching the reference's ContinuousThoughtMachine(**kwargs) (its constructor's argument names), e.g. to
  write the matching gin config. `overrides` set further CTM attributes (remat_ticks, ...)."""
  args = dict(kwargs)
  backbone_type, pos = args.get('backbone_type', 'none'), args.get('positional_embedding_type', 'none')
  if backbone_type == 'parity_backbone':
    if pos not in ('custom-rotational-1d', 'none'):
      raise ConfigurationError(f'positional_embedding_type={pos!r} with parity_backbone has no counterpart here.')
    backbone = ParityBackbone(args['d_input'], positional=pos == 'custom-rotational-1d')
  elif backbone_type == 'none':
    backbone = None
  else:
    if pos not in _POSITIONAL:
      raise ConfigurationError(f'positional_embedding_type={pos!r} is unknown; choose one of {sorted(_POSITIONAL)}.')
    m = re.fullmatch(r'resnet(\d+)-(\d)', backbone_type)
    if m:
      backbone = ResNetBackbone(int(m[1]), int(m[2]), initial_rgb=True, positional=_POSITIONAL[pos]())
    elif backbone_type == 'shallow-wide':
      backbone = ShallowWideBackbone(positional=_POSITIONAL[pos]())
    else:
      raise ConfigurationError(f'backbone_type={backbone_type!r} has no counterpart here.')
  ours = {k: args[k] for k in _SAME_NAMES if k in args}
  ours['prediction_reshaper'] = tuple(args.get('prediction_reshaper', (-1,)))
  return CTM(**ours, backbone=backbone, **overrides)


def load_state_dict(path: str) -> dict[str, np.ndarray]:
  """An npz written by common/ctm/dump_reference.py (or np.savez of a state_dict) -> {name: array}."""
  with np.load(path, allow_pickle=False) as data:
    return {k: data[k] for k in data.files}


def save_finished_run(workdir: str, variables: Mapping[str, Any], optimizer, num_steps: int) -> dict[str, Any]:
  """Writes `variables` as the train state of a run that has done `num_steps` steps, under <workdir>/checkpoints.

  `optimizer` is the run's GradientTransformation (its state is freshly initialised: training on from here is a
  restart of the optimizer, which is all a reference checkpoint can give). Returns the saved state.
  """
  state = state_lib.create_state(dict(variables), optimizer)
  state['step'] = np.asarray(num_steps, np.int32)
  ckpt = Checkpointer(workdir, async_save=False)
  try:
    if ckpt.latest_step() is not None:
      raise ConfigurationError(
        f'{ckpt.directory} already holds checkpoints (latest step {ckpt.latest_step()}); import into a new workdir.'
      )
    ckpt.save(num_steps, state)
    ckpt.wait()
  finally:
    ckpt.close()
  return state
