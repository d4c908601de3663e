"""Synthetic task generators (numpy, seeded, no files): function fitting first; others join per family."""
