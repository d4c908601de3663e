"""Softmax attention vs three Fourier-KArAt variants (G=3: low-rank r=8 blockwise and universal, full-rank
blockwise) in the tiny digits ViT, x 5 seeds; seeds vmapped (one program per variant with --vmap_trials).

  launch --gin_file=configs/kan_attention/vit_digits.gin --sweep=configs/kan_attention/sweeps/variants.py \
    --workdir=/tmp/kan_attention/variants --vmap_trials --sweep_workers=1
  launch report /tmp/kan_attention/variants --group_by=ATTENTION,KARAT_RANK,KARAT_MODE
"""


def sweep(h):
  # KARAT_RANK and KARAT_MODE are bound for softmax too (the ViT ignores them there), so every row names them.
  variants = h.zip(
    [
      h.sweep('ATTENTION', ['softmax', 'karat', 'karat', 'karat']),
      h.sweep('KARAT_RANK', [None, 8, 8, None]),
      h.sweep('KARAT_MODE', ['blockwise', 'blockwise', 'universal', 'blockwise']),
    ]
  )
  return h.product([variants, h.sweep('SEED', [0, 1, 2, 3, 4])])
