"""The shared training core: one readable loop (`loop.train`) plus its parts, one file each.

tasks.py       data + loss + metrics (classification, regression)
optim.py       optimizer and learning-rate schedule factory
state.py       model initialisation, the train state, the parameter table
checkpoint.py  orbax CheckpointManager: async, keep-N, atomic, resume
metrics.py     metric writer: metrics.jsonl, TensorBoard events, console
progress.py    progress bar with rate and ETA (compile time excluded)
plots.py       the curves PNG written at the end of a run
loop.py        `train`: the entry point gin configures
"""
