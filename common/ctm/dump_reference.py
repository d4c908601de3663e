"""Dumps a reference CTM checkpoint (.pt of SakanaAI/continuous-thought-machines) to an npz of its state_dict.

Runs in a Python with torch and numpy only (this repository's environment has no torch), from the repository root:

  /tmp/ctm-ref-venv/bin/python -m common.ctm.dump_reference checkpoint.pt state_dict.npz

The reference's training scripts save {'model_state_dict': ..., 'args': argparse.Namespace, ...}; a bare state_dict
works too. Prefixes that DistributedDataParallel ('module.') and torch.compile ('_orig_mod.') add are removed. The
npz holds one array per state_dict entry under its own name, plus 'reference_args' (the JSON of `args`, if any).
Loading uses torch.load(weights_only=False) because the checkpoint pickles `args`: only load checkpoints you trust.
Convert the npz with `python -m launch.import_ctm_reference` (common/ctm/convert.py).
"""

import json
import sys

import numpy as np


def _strip(key: str) -> str:
  for prefix in ('module.', '_orig_mod.'):
    while key.startswith(prefix):
      key = key[len(prefix) :]
  return key


def dump(checkpoint_path: str, out_path: str) -> list[str]:
  import torch

  checkpoint = torch.load(checkpoint_path, map_location='cpu', weights_only=False)
  state = checkpoint.get('model_state_dict', checkpoint) if isinstance(checkpoint, dict) else checkpoint
  arrays = {_strip(k): v.detach().cpu().numpy() for k, v in state.items() if hasattr(v, 'detach')}
  args = checkpoint.get('args') if isinstance(checkpoint, dict) else None
  if args is not None:
    arrays['reference_args'] = np.array(json.dumps(vars(args) if hasattr(args, '__dict__') else args, default=str))
  np.savez(out_path, **arrays)
  return sorted(arrays)


if __name__ == '__main__':
  if len(sys.argv) != 3:
    sys.exit('usage: python -m common.ctm.dump_reference CHECKPOINT.pt OUT.npz')
  names = dump(sys.argv[1], sys.argv[2])
  print(f'wrote {len(names)} arrays to {sys.argv[2]}')
