"""Errors a user fixes by editing a config or a command line: printed without a traceback, exit status 2.

The launcher's exit statuses (launch/main.py):
  0  finished
  1  an exception after the run started: one line on stderr, the traceback in <workdir>/error.txt
  2  the configuration or the flags: the file:line (or the flag) at fault and a fix; nothing written
  3  the loss became NaN or Inf: the last good checkpoint is kept
  130 stopped with Ctrl-C
"""

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
  """A problem in the configuration or the command line. The message says where and how to fix it."""
