"""Man, Damasio & Neven, "Need is All You Need: Homeostatic Neural Networks Adapt to Concept Shift" (README.md)."""
