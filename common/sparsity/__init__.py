"""Sparse connectivity: G2GNet ensemble-to-ensemble masks and dynamic sparse training with Hebbian regrowth.

masks         g2g_mask (balanced ensemble-to-ensemble block masks), random_mask (exact density)
layers        MaskedDense / MaskedConv: mask in the 'masks' collection, pre/post co-activity in 'hebbian'
models        SparseMLP (e.g. 64-256-256-10) and SparseCNN with masked hidden connections, dense readout
dst           DynamicSparsity: prune by magnitude, regrow at random or by Hebbian correlation; a loop.train
              after_step hook (masks rewritten inside the jitted step, checkpointed with the model)
block_sparse  block-sparse storage and matmul of a static G2G layer (for the benchmark against masked dense)
"""
