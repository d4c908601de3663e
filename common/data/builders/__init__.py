"""Offline TFDS builders. Importing this package registers every builder with TFDS.

`OFFLINE_BUILDERS` are prepared at first use with no network (the data ship with an installed package), always
as `FILE_FORMAT` so they read without TensorFlow. `standins` holds unregistered stand-ins of real datasets
(mnist, fashion_mnist, cifar10, cifar100, imagenet2012) that tests and smoke runs prepare explicitly.
"""

from common.data.builders import sklearn_digits  # noqa: F401  (registers `sklearn_digits`)

OFFLINE_BUILDERS = frozenset({'sklearn_digits'})

# ArrayRecord: random access (`tfds.data_source`, grain) and no TensorFlow at read time.
FILE_FORMAT = 'array_record'
