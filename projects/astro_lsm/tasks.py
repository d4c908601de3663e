"""Image classification through a liquid state machine: the loss reads the model's dict outputs.

`LSMClassificationTask` is common.kan.paper_task.DeferredClassificationTask (data read on first use, so the paper
configs dry-run without MNIST prepared) whose loss takes LiquidStateMachine's outputs: cross-entropy and accuracy
on 'logits', plus every other scalar the model reports (reservoir and input spike rates, and in evaluation the
branching factor) as metrics.
"""

import dataclasses

from common.kan.paper_task import DeferredClassificationTask


@dataclasses.dataclass
class LSMClassificationTask(DeferredClassificationTask):
  def loss(self, outputs, batch):
    loss, metrics = super().loss(outputs['logits'], batch)
    return loss, {**metrics, **{k: v for k, v in outputs.items() if k != 'logits'}}
