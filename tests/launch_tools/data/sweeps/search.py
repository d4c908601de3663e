"""Toy search space for the study tests: the learning rate on a log scale; the median pruner on the eval loss."""


def sweep(h):
  return h.sweep('LEARNING_RATE', [1e-3, 3e-2])


def search(h):
  return h.search(
    {'LEARNING_RATE': h.float(1e-3, 1e-1, log=True)},
    metric='loss',
    direction='minimize',
    startup_trials=2,
  )
