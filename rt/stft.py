"""The short-time Fourier transform (NumPy): the one used for analysis, quality measures and
the app's spectrogram.

Frame ``j`` holds samples ``x[j * hop - left : j * hop - left + n_fft]`` (zeros outside the
signal), times the window, where ``left = n_fft // 2`` for centred frames and 0 otherwise:

    X[..., j, k] = sum_n w[n] x[j * hop - left + n] exp(-2 pi i k n / n_fft),  k = 0..n_fft/2
"""

from __future__ import annotations

import numpy as np

_CHUNK_FRAMES = 512


def hann(n_fft: int, *, periodic: bool = True) -> np.ndarray:
    """Hann window of length ``n_fft``: periodic (the spectral-analysis form) or symmetric."""
    return np.hanning(n_fft + 1)[:-1] if periodic else np.hanning(n_fft)


def n_frames_centred(n_samples: int, hop: int) -> int:
    """Frames of a centred STFT that cover ``n_samples`` samples: ``1 + n_samples // hop``."""
    return 1 + n_samples // hop


def stft(x: np.ndarray, *, n_fft: int, hop: int, centre: bool = True,
         n_frames: int | None = None, window: np.ndarray | None = None) -> np.ndarray:
    """Short-time Fourier transform along the last axis.

    Parameters
    ----------
    x : ndarray, shape (..., samples)
        Real signal(s).
    n_fft, hop : int
        Frame length and hop in samples.
    centre : bool
        True: frame ``j`` is centred on sample ``j * hop`` (``n_fft // 2`` zeros before the
        signal); False: frame ``j`` starts at sample ``j * hop``.
    n_frames : int, optional
        Frames to compute. Default: ``1 + samples // hop`` when centred, else the frames that
        fit in the signal, ``1 + (samples - n_fft) // hop`` (at least one; the signal is
        zero-padded to one frame).
    window : ndarray, shape (n_fft,), optional
        Default: the periodic Hann window (:func:`hann`).

    Returns
    -------
    ndarray, complex128, shape (..., n_frames, n_fft // 2 + 1)
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    if n_frames is None:
        n_frames = n_frames_centred(n, hop) if centre else 1 + max(0, n - n_fft) // hop
    win = hann(n_fft) if window is None else np.asarray(window, dtype=np.float64)
    left = n_fft // 2 if centre else 0
    right = max(0, (n_frames - 1) * hop + n_fft - left - n)
    xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(left, right)])
    out = np.empty((*x.shape[:-1], n_frames, n_fft // 2 + 1), dtype=np.complex128)
    offsets = np.arange(n_fft)[None, :]
    for s in range(0, n_frames, _CHUNK_FRAMES):  # bounded memory for long signals
        e = min(s + _CHUNK_FRAMES, n_frames)
        idx = np.arange(s, e)[:, None] * hop + offsets
        out[..., s:e, :] = np.fft.rfft(xp[..., idx] * win, axis=-1)
    return out


__all__ = ["hann", "n_frames_centred", "stft"]
