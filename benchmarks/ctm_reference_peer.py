"""Times the reference PyTorch CTM on bench_ctm's workload; prints one JSON line {train_ms, forward_ms}.

  <python with torch> benchmarks/ctm_reference_peer.py <reference checkout> <repeats>

Run by benchmarks/bench_ctm.py in a separate interpreter (torch is not a dependency of this repository). The
reference imports huggingface_hub only for hub loading; if it is missing, a stub is injected (timing only).
CTM_PEER_DEVICE (default cpu; cuda on a GPU machine) places the model and batches; on CUDA every timed call ends
with torch.cuda.synchronize() so a step's time includes its kernels, as ours includes block_until_ready.
"""

import json
import os
import statistics
import sys
import time
import types


def main(ref_dir: str, repeats: int, workload: dict) -> None:
  import torch

  length = workload['out_dims'] // 2  # parity length: two logits per position
  device = torch.device(os.environ.get('CTM_PEER_DEVICE', 'cpu'))
  sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
  torch.manual_seed(0)
  try:
    import huggingface_hub  # noqa: F401
  except ImportError:
    stub = types.ModuleType('huggingface_hub')
    stub.PyTorchModelHubMixin = type('PyTorchModelHubMixin', (), {})
    stub.hf_hub_download = None
    sys.modules['huggingface_hub'] = stub
  sys.path.insert(0, ref_dir)
  from models.ctm import ContinuousThoughtMachine
  from utils.losses import parity_loss

  # The shared hyperparameters come from bench_ctm.WORKLOAD (passed as JSON), so both sides time one model.
  model = ContinuousThoughtMachine(
    **workload,
    do_layernorm_nlm=False,
    backbone_type='parity_backbone',
    positional_embedding_type='custom-rotational-1d',
    prediction_reshaper=[length, 2],
  ).to(device)

  def bits(b):
    return (2 * torch.randint(0, 2, (b, length), device=device) - 1).float()

  with torch.no_grad():
    model(bits(2))  # materialise the lazy layers
  opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
  x = bits(64)
  y = (torch.cumsum((x < 0).long(), 1) % 2).long()

  def train_step():
    preds, certs, _ = model(x)
    loss, _ = parity_loss(preds.reshape(64, length, 2, -1), certs, y)
    opt.zero_grad()
    loss.backward()
    opt.step()

  xf = bits(256)

  def forward():
    with torch.no_grad():
      model(xf)

  def timed(fn, warmup=3):
    for _ in range(warmup):
      fn()
    sync()
    out = []
    for _ in range(repeats):
      t0 = time.perf_counter()
      fn()
      sync()
      out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(out)

  model.train()
  train_ms = timed(train_step)
  model.eval()
  print(
    json.dumps(
      {
        'train_ms': train_ms,
        'forward_ms': timed(forward),
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'device': str(device),
      }
    )
  )


if __name__ == '__main__':
  main(sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]))
