"""Toy sweep for the tests: 2 x 2 grid zipped with nothing fancy."""


def sweep(h):
  return h.product([h.sweep('NUM_STEPS', [1, 2]), h.sweep('toy_lib.Net.width', [4, 8])])
