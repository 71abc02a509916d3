"""Band-limited resampling by FFT (zero-padding or truncating the spectrum)."""

from __future__ import annotations

import numpy as np


def resample(x: np.ndarray, sr_in: int, sr_out: int, *, length: int | None = None) -> np.ndarray:
    """Resample ``x`` (shape (..., T)) from ``sr_in`` to ``sr_out`` Hz along the last axis.

    The spectrum is kept up to the lower Nyquist frequency (ideal low-pass); the result has
    ``length`` samples (default ``round(T * sr_out / sr_in)``), zero-padded or cut.
    """
    x = np.asarray(x, dtype=np.float64)
    n_in = x.shape[-1]
    if length is None:
        length = int(round(n_in * sr_out / sr_in))
    if sr_in == sr_out:
        out = np.zeros(x.shape[:-1] + (length,))
        n = min(length, n_in)
        out[..., :n] = x[..., :n]
        return out
    if n_in == 0:
        return np.zeros(x.shape[:-1] + (length,))
    n_out = int(round(n_in * sr_out / sr_in))
    spec = np.fft.rfft(x, axis=-1)
    bins = n_out // 2 + 1
    new = np.zeros(x.shape[:-1] + (bins,), dtype=complex)
    keep = min(bins, spec.shape[-1])
    new[..., :keep] = spec[..., :keep]
    y = np.fft.irfft(new, n=n_out, axis=-1) * (n_out / n_in)
    out = np.zeros(x.shape[:-1] + (length,))
    n = min(length, n_out)
    out[..., :n] = y[..., :n]
    return out
