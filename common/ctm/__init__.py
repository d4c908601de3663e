"""Continuous Thought Machines (Darlow et al. 2025, arXiv 2505.05522) as Flax modules.

Modules: synapses (Linear-GLU-LayerNorm / U-Net), neuron-level models (private per-neuron MLPs as one einsum),
synchronisation (pair selection and the recurrent decayed inner product), the CTM itself (ticks in nn.scan,
per-example early stopping with nn.while_loop), the tick-selection loss, backbones and an LSTM baseline.
"""
