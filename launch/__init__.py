"""The `launch` command: flags -> platform -> gin (with provenance) -> validation -> run artifacts -> entry point.

main.py         the absl app and its fixed, ordered flow
gin_args.py     `--gin.X=Y` shorthand and gin file search
config_model.py gin files as statements with provenance (file, line) and canonical values
validate.py     checks before anything is written: unknown names, REQUIRED values, the entry point
gin_setup.py    parse into gin, ENTRY_POINT wiring, friendly gin errors
artifacts.py    the run's config/ folder and the workdir-consistency check
platform.py     --platform selection before JAX starts
experiment.py   the root configurable the launcher calls
errors.py       UsageError (exit status 2, no traceback)
"""
