"""atomsynth.offline: fitting, the MDCT atomizer and matching pursuit, the atom language model.

Uses PyTorch (the ``fit`` extra); runs on CUDA when available, else on the CPU.
"""
