"""Continuous Thought Machines (Darlow et al. 2025, arXiv 2505.05522) as Flax modules.

Modules: synapses (Linear-GLU-LayerNorm / U-Net), neuron-level models (private per-neuron MLPs as one einsum, optional
LayerNorm), synchronisation (pair selection and the recurrent decayed inner product; the neuron indices are the
variable collection 'neuron_indices'), the CTM itself (ticks in lax.scan, per-example early stopping with a while
loop, optional bfloat16 synapses and attention), the tick-selection loss, backbones (parity, sequences, small convnet,
the reference's ResNets and shallow-wide) with the reference's 2-D positional embeddings (positional.py), an LSTM
baseline, and the converter of reference checkpoints (convert.py; dump_reference.py runs in a torch environment).
"""
