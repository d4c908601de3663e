"""Kolmogorov-Arnold Attention: a tiny ViT on digits, softmax vs Fourier-KArAt variants."""
