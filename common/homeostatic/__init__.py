"""Homeostatic neurons and learners.

need.py        need-based regulation of the learning rate (Man, Damasio & Neven, "Need is All You Need"):
               the homeostatic rule and its random / constant baselines, as a pure per-batch update
network.py     the ELU MLP of the authors' release (He-normal kernels, N(0, 1) biases)
online.py      the online-learning entry function (concept shift by label swaps, MetricWriter, Checkpointer)
target_rate.py target-firing-rate adaptation of excitation/inhibition (Boosting Reservoir Computing with
               Brain-inspired Adaptive Dynamics)
reservoir.py   an excitatory/inhibitory echo state network (lax.scan) in which that adaptation runs
"""
