"""Deterministic counter-based noise, identical in NumPy, Numba and PyTorch.

Sample ``i`` of the noise keyed by ``seed`` is a pure function of ``(seed, i)`` computed with
32-bit integer arithmetic only (Wellons' ``lowbias32`` hash, two rounds), so every renderer
produces bit-identical values:

    key = h(seed + 0x9E3779B9)
    v   = h(h(i ^ key) + key)                       (all mod 2^32)
    t   = 2 * (v >> 8) + 1 - 2^24                   (an odd integer, |t| < 2^24)
    x   = t * 2^-24                                  (uniform on (-1, 1), exact in float32)

``x`` has mean 0 and variance 1/3; renderers multiply by sqrt(3) for unit variance.
The PyTorch twin is :func:`atomsynth.offline.noise_torch.uniform_noise`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MASK32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B9
MUL1 = 0x7FEB352D
MUL2 = 0x846CA68B
SCALE = 2.0**-24


def _hash32_np(x: np.ndarray) -> np.ndarray:
    """lowbias32 on a uint64 array holding 32-bit values."""
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(MUL1)) & np.uint64(MASK32)
    x = x ^ (x >> np.uint64(15))
    x = (x * np.uint64(MUL2)) & np.uint64(MASK32)
    x = x ^ (x >> np.uint64(16))
    return x


def noise_bits(seed: int, start: int, count: int) -> np.ndarray:
    """The 32-bit hash values ``v`` for samples ``start .. start + count - 1``, uint32."""
    key = _hash32_np(np.uint64((int(seed) + GOLDEN) & MASK32))
    i = (np.arange(start, start + count, dtype=np.uint64)) & np.uint64(MASK32)
    v = _hash32_np(((_hash32_np(i ^ key)) + key) & np.uint64(MASK32))
    return v.astype(np.uint32)


def uniform_noise(seed: int, start: int, count: int, dtype=np.float64) -> np.ndarray:
    """Uniform noise on (-1, 1), shape (count,), for samples ``start ..`` of key ``seed``."""
    v = noise_bits(seed, start, count).astype(np.int64)
    t = 2 * (v >> 8) + 1 - (1 << 24)
    return (t * SCALE).astype(dtype)  # exact in float32 too: |t| < 2^24


@njit(cache=True, nogil=True, inline="always")
def _hash32_nb(x):
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(MUL1)) & np.uint64(MASK32)
    x = x ^ (x >> np.uint64(15))
    x = (x * np.uint64(MUL2)) & np.uint64(MASK32)
    x = x ^ (x >> np.uint64(16))
    return x


@njit(cache=True, nogil=True)
def uniform_noise_into(seed, start, out):
    """Numba kernel: write uniform noise of key ``seed`` for samples ``start ..`` into ``out``.

    ``out`` is a preallocated float32 or float64 array; returns nothing.
    """
    mask = np.uint64(MASK32)
    key = _hash32_nb((np.uint64(seed) + np.uint64(GOLDEN)) & mask)
    for j in range(out.shape[0]):
        i = np.uint64(start + j) & mask
        v = _hash32_nb(((_hash32_nb(i ^ key)) + key) & mask)
        t = np.int64(2) * np.int64(v >> np.uint64(8)) + np.int64(1) - np.int64(1 << 24)
        out[j] = t * SCALE
