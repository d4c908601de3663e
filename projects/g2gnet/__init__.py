"""g2gnet: see README.md (configs in configs/g2gnet/, modules in common/)."""
