"""A log-frequency spectrogram image for drawing under the atoms (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atomsynth.rt.stft import hann, stft


@dataclass(frozen=True)
class SpectrogramImage:
    """Levels in dB, shape (frames, rows); row r is centred on ``log10 f`` evenly spaced
    from ``log10(fmin_hz)`` to ``log10(fmax_hz)``; frame j starts at ``j * hop_s``."""

    db: np.ndarray
    hop_s: float
    fmin_hz: float
    fmax_hz: float

    @property
    def duration_s(self) -> float:
        return self.db.shape[0] * self.hop_s


def spectrogram_image(audio: np.ndarray, sample_rate: int, *, n_fft: int = 2048,
                      hop: int = 512, n_rows: int = 256, fmin_hz: float = 20.0,
                      max_frames: int = 4000, floor_db: float = -90.0) -> SpectrogramImage:
    """STFT magnitude of the channel mean, resampled onto a log-frequency grid.

    Parameters
    ----------
    audio : ndarray, shape (channels, samples)
    sample_rate : int
        Hz.
    n_fft, hop : int
        Frame length and hop in samples (the hop grows so at most ``max_frames`` frames result).
    n_rows : int
        Rows of the log-frequency grid between ``fmin_hz`` and Nyquist.
    floor_db : float
        Levels are relative to the loudest cell, clipped below at this value.
    """
    x = np.asarray(audio, dtype=np.float64)
    x = x.mean(axis=0) if x.ndim == 2 else x
    hop = max(hop, int(np.ceil(x.size / max_frames)))
    fmax = sample_rate / 2
    spec = np.abs(stft(x, n_fft=n_fft, hop=hop, centre=False, window=hann(n_fft, periodic=False)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    rows = np.logspace(np.log10(fmin_hz), np.log10(fmax), n_rows)
    # Linear interpolation of magnitudes onto the log grid (per frame).
    pos = np.interp(rows, freqs, np.arange(freqs.size))
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, freqs.size - 1)
    w = pos - lo
    mag = spec[:, lo] * (1 - w) + spec[:, hi] * w
    peak = mag.max() if mag.size and mag.max() > 0 else 1.0
    db = 20 * np.log10(np.maximum(mag / peak, 1e-12))
    return SpectrogramImage(np.maximum(db, floor_db).astype(np.float32), hop / sample_rate,
                            fmin_hz, fmax)
