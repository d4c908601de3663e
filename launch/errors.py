"""Errors a user fixes by editing a config or a command line: printed without a traceback, exit status 2."""

EXIT_USAGE = 2
EXIT_DIVERGED = 3


class UsageError(Exception):
  """A problem in the configuration or the command line. The message says where and how to fix it."""
