"""Toy numeric-only sweep for the vmapped-trials test: learning rate zipped with seed."""


def sweep(h):
  return h.zip([h.sweep('LEARNING_RATE', [1e-3, 3e-3, 1e-2, 3e-2]), h.sweep('SEED', [0, 1, 2, 3])])
