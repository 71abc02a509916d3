"""The orthonormal MDCT with a sine window (a modulated lapped transform).

For hop ``N`` (frame length ``2N`` = the atom's ``scale``) the atom of frame ``t`` and bin ``k``
is, on the samples ``s = (t - 1) N + n`` for ``n = 0 .. 2N - 1``,

    phi_{t,k}[n] = w[n] * sqrt(2 / N) * cos(pi / N * (n + 1/2 + N/2) * (k + 1/2)),
    w[n] = sin(pi * (n + 1/2) / (2 N)).

The atoms of one scale are an orthonormal basis (Princen-Bradley, time-domain aliasing
cancellation), so the coefficients of a signal are its inner products with the atoms and the
signal is the sum of ``value * phi``. Frames ``t = 0 .. ceil(L / N)`` cover samples
``[0, L)``. DCT-IV is computed with an FFT of length N/2.
"""

from __future__ import annotations

import math

import numpy as np


def sine_window(hop: int) -> np.ndarray:
    """``w[n] = sin(pi (n + 1/2) / (2 N))``, float64, shape (2N,)."""
    n = np.arange(2 * hop, dtype=np.float64)
    return np.sin(np.pi * (n + 0.5) / (2 * hop))


def dct4(x: np.ndarray) -> np.ndarray:
    """Orthonormal DCT-IV along the last axis (length N even): its own inverse.

    ``X[k] = sqrt(2/N) sum_n x[n] cos(pi/N (n + 1/2)(k + 1/2))``.
    """
    x = np.asarray(x, dtype=np.float64)
    n_len = x.shape[-1]
    half = n_len // 2
    n = np.arange(half)
    z = (x[..., 0::2] + 1j * x[..., ::-1][..., 0::2]) * np.exp(-1j * np.pi * (n + 0.25) / n_len)
    y = np.fft.fft(z, axis=-1) * np.exp(-1j * np.pi * n / n_len)
    out = np.empty(x.shape, dtype=np.float64)
    out[..., 0::2] = y.real
    out[..., ::-1][..., 0::2] = -y.imag
    return out * math.sqrt(2.0 / n_len)


def n_frames(length: int, hop: int) -> int:
    """Frames needed to cover ``length`` samples: ``ceil(length / hop) + 1``."""
    return -(-int(length) // int(hop)) + 1


def mdct(x: np.ndarray, hop: int) -> np.ndarray:
    """MDCT coefficients of ``x`` (shape (..., L)), shape (..., n_frames(L, hop), hop)."""
    x = np.asarray(x, dtype=np.float64)
    length = x.shape[-1]
    frames = n_frames(length, hop)
    padded = np.zeros(x.shape[:-1] + ((frames + 1) * hop,))
    padded[..., hop : hop + length] = x
    idx = np.arange(frames)[:, None] * hop + np.arange(2 * hop)[None, :]
    blocks = padded[..., idx] * sine_window(hop)
    q = hop // 2
    a, b, c, d = (blocks[..., i * q : (i + 1) * q] for i in range(4))
    folded = np.concatenate([-c[..., ::-1] - d, a - b[..., ::-1]], axis=-1)
    return dct4(folded)


def imdct_frames(coeffs: np.ndarray) -> np.ndarray:
    """Windowed inverse of each frame: shape (..., F, N) -> (..., F, 2N), ready to overlap-add."""
    coeffs = np.asarray(coeffs, dtype=np.float64)
    hop = coeffs.shape[-1]
    q = hop // 2
    u = dct4(coeffs)
    u1, u2 = u[..., :q], u[..., q:]
    blocks = np.concatenate([u2, -u2[..., ::-1], -u1[..., ::-1], -u1], axis=-1)
    return blocks * sine_window(hop)


def overlap_add(blocks: np.ndarray, hop: int, first_frame: int, out: np.ndarray,
                out_start: int = 0) -> None:
    """Add frames ``first_frame ..`` (shape (..., F, 2N)) into ``out`` (shape (..., T)).

    Frame ``t`` starts at sample ``(t - 1) * hop - out_start``; parts outside ``out`` are
    dropped.
    """
    length = out.shape[-1]
    for i in range(blocks.shape[-2]):
        s0 = (first_frame + i - 1) * hop - out_start
        lo, hi = max(s0, 0), min(s0 + 2 * hop, length)
        if lo < hi:
            out[..., lo:hi] += blocks[..., i, lo - s0 : hi - s0]


def imdct(coeffs: np.ndarray, length: int) -> np.ndarray:
    """Inverse of :func:`mdct`: coefficients (..., F, N) -> signal (..., length)."""
    hop = coeffs.shape[-1]
    out = np.zeros(coeffs.shape[:-2] + (int(length),))
    overlap_add(imdct_frames(coeffs), hop, 0, out)
    return out


def atom_waveform(hop: int, k: int) -> np.ndarray:
    """The atom ``phi_{t,k}`` on its 2N samples (direct formula), float64, shape (2N,)."""
    n = np.arange(2 * hop, dtype=np.float64)
    return sine_window(hop) * math.sqrt(2.0 / hop) * np.cos(
        np.pi / hop * (n + 0.5 + hop / 2) * (k + 0.5)
    )
