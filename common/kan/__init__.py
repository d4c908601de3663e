"""Kolmogorov-Arnold networks: bases, KANDense/KAN, grid update and extension, S-KAN, Fourier-KArAt attention."""
