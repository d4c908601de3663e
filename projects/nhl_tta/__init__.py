"""nhl_tta: see README.md (configs in configs/nhl_tta/, modules in common/)."""
