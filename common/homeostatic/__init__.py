"""Homeostatic neurons and learners.

need.py        need-based regulation of the learning rate (Man, Damasio & Neven, "Need is All You Need"):
               the homeostatic rule and its random / constant baselines, as a pure per-batch update
network.py     the ELU MLP of the authors' release (He-normal kernels, N(0, 1) biases)
online.py      the online-learning entry function (concept shift by label swaps, MetricWriter, Checkpointer)
target_rate.py target-firing-rate adaptation of excitation/inhibition (Boosting Reservoir Computing with
               Brain-inspired Adaptive Dynamics)
reservoir.py   an excitatory/inhibitory echo state network (lax.scan) in which that adaptation runs
lif_reservoir.py  a liquid state machine: 3-D E/I wiring of LIF neurons (lax.scan), Poisson input, branching factor
astro.py       astrocyte-modulated STDP (the NALSM): STDP with pair traces, the astrocyte as the depression rate
"""
