"""The counter-based noise of :mod:`atomsynth.rt.noise` in PyTorch, bit-identical.

PyTorch has no unsigned 64-bit arithmetic, so the 32-bit hash runs on int64 tensors holding
values in [0, 2^32): every product is split into 16-bit halves so that no intermediate leaves
the int64 range, and results are masked to 32 bits.
"""

from __future__ import annotations

import torch

from atomsynth.rt.noise import GOLDEN, MASK32, MUL1, MUL2, SCALE


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """``(x * c) mod 2^32`` for int64 ``x`` in [0, 2^32) and a 32-bit constant ``c``."""
    lo = x & 0xFFFF
    hi = x >> 16
    return (lo * c + (((hi * c) & 0xFFFF) << 16)) & MASK32


def _hash32(x: torch.Tensor) -> torch.Tensor:
    x = x ^ (x >> 16)
    x = _mul32(x, MUL1)
    x = x ^ (x >> 15)
    x = _mul32(x, MUL2)
    return x ^ (x >> 16)


def noise_bits(seed: int, start: int, count: int, *, device=None) -> torch.Tensor:
    """The 32-bit hash values for samples ``start .. start + count - 1`` (int64 tensor)."""
    key = _hash32(torch.tensor((int(seed) + GOLDEN) & MASK32, dtype=torch.int64, device=device))
    i = torch.arange(start, start + count, dtype=torch.int64, device=device) & MASK32
    return _hash32((_hash32(i ^ key) + key) & MASK32)


def uniform_noise_rows(seeds, start: int, count: int, *, dtype=torch.float32,
                       device=None) -> torch.Tensor:
    """Noise of many keys at once, shape (len(seeds), count): row i is
    ``uniform_noise(seeds[i], start, count)`` (bit-identical)."""
    s = torch.as_tensor(seeds, dtype=torch.int64, device=device).reshape(-1, 1)
    key = _hash32((s + GOLDEN) & MASK32)
    i = torch.arange(start, start + count, dtype=torch.int64, device=device)[None, :] & MASK32
    v = _hash32((_hash32(i ^ key) + key) & MASK32)
    t = 2 * (v >> 8) + 1 - (1 << 24)
    return t.to(dtype) * SCALE


def uniform_noise(seed: int, start: int, count: int, *, dtype=torch.float32,
                  device=None) -> torch.Tensor:
    """Uniform noise on (-1, 1), shape (count,): :func:`atomsynth.rt.noise.uniform_noise`."""
    v = noise_bits(seed, start, count, device=device)
    t = 2 * (v >> 8) + 1 - (1 << 24)
    return t.to(dtype) * SCALE
