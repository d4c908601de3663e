"""Offline TFDS builders. Importing this package registers every builder with TFDS."""

from common.data.builders import sklearn_digits  # noqa: F401  (registers `sklearn_digits`)
