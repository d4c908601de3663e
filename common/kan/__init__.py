"""Kolmogorov-Arnold networks: bases, KANDense/KAN, grid update and extension, S-KAN, KAN convolutions (S-ConvKAN),
Fourier-KArAt attention."""
