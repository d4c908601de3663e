"""A classification task that reads its TFDS data only when training starts.

tasks.ClassificationTask checks batch_size against the training-set size at construction, which loads the data;
paper-scale configs (CIFAR-10 etc.) must build under --dry_run on machines where the dataset is not prepared. This
subclass defers that check to the first data access and takes init inputs from the builder's feature spec
(pipeline.TFDSDataset.example_inputs), so the same config dry-runs anywhere and trains where the data exist.
"""

import dataclasses

from common.train import tasks


@dataclasses.dataclass
class DeferredClassificationTask(tasks.ClassificationTask):
  def __post_init__(self):
    self._checked = False

  def _check(self):
    if not self._checked:
      super().__post_init__()
      self._checked = True

  def train_arrays(self):
    self._check()
    return super().train_arrays()

  def eval_batches(self):
    self._check()
    return super().eval_batches()

  def init_inputs(self):
    example = getattr(self.data, 'example_inputs', None)
    return example(2) if example is not None else super().init_inputs()
