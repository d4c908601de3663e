"""The root configurable. The launcher binds `run.entry_point = %ENTRY_POINT` and calls it.

Experiments set the macro ENTRY_POINT (configs/base/trainer.gin sets `@loop.train`), so a gin file names the
function it runs and `--gin.ENTRY_POINT=@other.fn` swaps it without touching the launcher.
"""


def run(entry_point):
  """Returns the configured entry point; the launcher calls it with workdir= and dry_run=."""
  return entry_point
