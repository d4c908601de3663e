"""Errors the training core raises for conditions a user must act on (the launcher prints them briefly)."""


class TrainingDiverged(RuntimeError):
  """The loss became NaN or Inf. The last good checkpoint is kept; nothing after it was saved."""


class ConfigurationError(ValueError):
  """A configured value is invalid; the message names the parameter, the value and the fix."""


class CheckpointSaveError(RuntimeError):
  """A checkpoint could not be written (disk full, permission denied); the previous checkpoint is intact."""


class RunStopped(Exception):
  """An observer of the run's metrics stopped it early (a study's pruner); not an error: the launcher exits 0.

  Raised from inside MetricWriter.write (see metrics.add_observer); the loops let it propagate. Checkpoints written
  so far stay; `reason` says why (e.g. 'pruned at step 600: loss=0.82').
  """

  def __init__(self, reason: str):
    super().__init__(reason)
    self.reason = reason
