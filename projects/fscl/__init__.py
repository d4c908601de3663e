"""fscl: see README.md (configs in configs/fscl/, modules in common/)."""
