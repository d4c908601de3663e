"""Errors the training core raises for conditions a user must act on (the launcher prints them briefly)."""


class TrainingDiverged(RuntimeError):
  """The loss became NaN or Inf. The last good checkpoint is kept; nothing after it was saved."""


class ConfigurationError(ValueError):
  """A configured value is invalid; the message names the parameter, the value and the fix."""


class CheckpointSaveError(RuntimeError):
  """A checkpoint could not be written (disk full, permission denied); the previous checkpoint is intact."""
