"""Image classification through a liquid state machine: the loss reads the model's dict outputs.

`LSMClassificationTask` is common.kan.paper_task.DeferredClassificationTask (data read on first use, so the paper
configs dry-run without MNIST prepared) whose loss takes LiquidStateMachine's outputs: cross-entropy and accuracy
on 'logits', plus every other scalar the model reports (reservoir and input spike rates, and in evaluation the
branching factor) as metrics. `eval_examples` keeps only the first examples of the eval split (None: all), so the
shared EVAL_EXAMPLES macro can shrink a smoke run whose every eval example runs a plastic liquid.
"""

import dataclasses

from common.kan.paper_task import DeferredClassificationTask
from common.train.errors import ConfigurationError


@dataclasses.dataclass
class LSMClassificationTask(DeferredClassificationTask):
  eval_examples: int | None = None

  def __post_init__(self):
    super().__post_init__()
    if self.eval_examples is not None and self.eval_examples < 1:
      raise ConfigurationError(f'LSMClassificationTask.eval_examples={self.eval_examples} must be >= 1 or None.')

  def eval_batches(self):
    batches = super().eval_batches()
    if self.eval_examples is None:
      return batches
    kept, left = [], self.eval_examples
    for b in batches:
      if left <= 0:
        break
      rows = min(left, len(b['weight']))
      kept.append({k: v[:rows] for k, v in b.items()})
      left -= rows
    return kept

  def loss(self, outputs, batch):
    loss, metrics = super().loss(outputs['logits'], batch)
    return loss, {**metrics, **{k: v for k, v in outputs.items() if k != 'logits'}}
