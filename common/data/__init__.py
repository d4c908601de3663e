"""Data: TFDS pipelines, offline TFDS builders and synthetic task generators."""
