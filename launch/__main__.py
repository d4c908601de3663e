"""`python -m launch ...` is the same as the `launch` command."""

from launch.main import run

if __name__ == '__main__':
  run()
