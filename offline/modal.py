"""Resonance presets from recordings: estimate the modes of a struck object (NumPy/SciPy only).

For a recording of one strike: the analysis starts just after the loudest instant; mode
frequencies are peaks of a long Hann-windowed spectrum refined by parabolic interpolation on the
log magnitude; each mode's decay and initial level come from a straight-line fit to the level
(dB) of its Hilbert envelope after a narrow Gaussian band-pass around it, over the part that
stands clear of the noise floor. The result is a :class:`~atomsynth.rt.modes.ModeTable`
(ratios to the lowest mode, gains relative to the loudest, decays relative to the lowest mode's)
plus the absolute fundamental and T60 for reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import hilbert

from atomsynth.rt.errors import ParameterError
from atomsynth.rt.modes import ModeTable


@dataclass(frozen=True)
class ModeEstimate:
    """Estimated modes: absolute frequencies (Hz), T60s (s) and initial amplitudes (linear)."""

    freq_hz: np.ndarray
    t60_s: np.ndarray
    amp: np.ndarray

    def table(self, name: str, *, description: str = "", source: str = "",
              family: str = "") -> ModeTable:
        """As a mode table relative to the lowest mode (gains clipped to (0, 1])."""
        f0 = self.freq_hz[0]
        gains = np.clip(self.amp / self.amp.max(), 1e-6, 1.0)
        decays = np.clip(self.t60_s / self.t60_s[0], 1e-3, 10.0)
        return ModeTable(name=name, ratios=self.freq_hz / f0, gains=gains, decays=decays,
                         description=description, source=source, family=family)


def _peaks(x: np.ndarray, sr: float, n_fft: int, floor_db: float, min_hz: float,
           max_modes: int) -> np.ndarray:
    # The right half of a Hann window: a decaying strike keeps its loud start.
    win = np.cos(0.5 * np.pi * np.arange(x.size) / x.size) ** 2
    mag = np.abs(np.fft.rfft(x * win, n_fft))
    db = 20.0 * np.log10(mag + 1e-12 * (mag.max() + 1e-30))
    top = db.max()
    k = np.flatnonzero((db[1:-1] > db[:-2]) & (db[1:-1] >= db[2:])) + 1
    k = k[(db[k] > top + floor_db) & (k * sr / n_fft >= min_hz) & (k * sr / n_fft < 0.48 * sr)]
    # Keep peaks that stand 6 dB above the spectrum 3 bins-per-window-width away (no sidelobes).
    width = max(2, int(4 * n_fft / x.size), int(8.0 * n_fft / sr))  # >= 3 x 8 Hz away
    keep = []
    for i in k:
        lo, hi = max(0, i - 3 * width), min(db.size - 1, i + 3 * width)
        if db[i] - min(db[lo], db[hi]) > 6.0:
            keep.append(i)
    k = np.asarray(keep, dtype=np.int64)
    k = k[np.argsort(-db[k])] if k.size else k
    # Merge peaks closer than two main-lobe widths (ripples of one mode): keep the strongest.
    spacing = 4 * n_fft / x.size
    chosen: list[int] = []
    for i in k:
        if all(abs(int(i) - j) > spacing for j in chosen):
            chosen.append(int(i))
    k = np.asarray(chosen[:max_modes], dtype=np.int64)
    freqs = []
    for i in k:
        a, b, c = db[i - 1], db[i], db[i + 1]
        den = a - 2 * b + c
        delta = 0.5 * (a - c) / den if den != 0 else 0.0
        freqs.append((i + delta) * sr / n_fft)
    return np.sort(np.asarray(freqs, dtype=np.float64))


def _decay(x: np.ndarray, sr: float, freq: float, bw_hz: float, floor_db: float
           ) -> tuple[float, float]:
    """(T60 s, initial amplitude) of the mode at ``freq`` (Gaussian band-pass + Hilbert)."""
    n = 1 << (2 * x.size - 1).bit_length()
    spec = np.fft.rfft(x, n)
    f = np.arange(spec.size) * sr / n
    band = np.fft.irfft(spec * np.exp(-0.5 * ((f - freq) / bw_hz) ** 2), n)[: x.size]
    env = np.abs(hilbert(band))
    db = 20.0 * np.log10(env + 1e-20)
    # Skip the filter's rise (about 2 / bw seconds) and stop at the noise floor.
    start = min(x.size - 3, int(2.0 / bw_hz * sr))
    peak_db = db[start:].max()
    above = db[start:] > max(peak_db - 40.0, db[start:].max() + floor_db)
    stop = start + (int(np.argmin(above)) if not above.all() else above.size)
    stop = max(stop, start + 8)
    t = np.arange(start, stop) / sr
    slope, intercept = np.polyfit(t, db[start:stop], 1)
    t60 = -60.0 / slope if slope < -1e-3 else 120.0
    return float(np.clip(t60, 0.001, 120.0)), float(10.0 ** (intercept / 20.0))


def estimate_modes(audio: np.ndarray, sample_rate: float, *, max_modes: int = 16,
                   floor_db: float = -60.0, min_hz: float = 20.0,
                   analysis_s: float = 2.0) -> ModeEstimate:
    """Estimate the modes of one recorded strike.

    Parameters
    ----------
    audio : ndarray, shape (samples,) or (channels, samples)
        The recording (channels are averaged).
    sample_rate : float
        Hz.
    max_modes : int
        At most this many modes (the strongest), 1 to 64.
    floor_db : float
        Peaks more than this far under the strongest are ignored (-120 to -10 dB).
    min_hz : float
        Lowest mode frequency considered.
    analysis_s : float
        Seconds after the strike that are analysed (0.05 to 60).

    Returns
    -------
    ModeEstimate, modes sorted by frequency
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1 or x.size < 64:
        raise ParameterError(f"audio must be a signal of at least 64 samples, got {x.shape}")
    if not np.isfinite(x).all():
        raise ParameterError("audio contains NaN or infinity")
    if not 1 <= max_modes <= 64:
        raise ParameterError(f"max_modes = {max_modes!r} is out of range; allowed [1, 64]")
    if not -120.0 <= floor_db <= -10.0:
        raise ParameterError(f"floor_db = {floor_db!r} is out of range; allowed [-120, -10]")
    if not 0.05 <= analysis_s <= 60.0:
        raise ParameterError(f"analysis_s = {analysis_s!r} is out of range; allowed [0.05, 60]")
    if not np.any(x):
        raise ParameterError("audio is silent: no modes to estimate")
    sr = float(sample_rate)
    start = int(np.argmax(np.abs(x))) + int(0.005 * sr)
    seg = x[start: start + int(analysis_s * sr)]
    if seg.size < 64:
        raise ParameterError("the recording ends too soon after its loudest instant to analyse")
    n_fft = max(1 << 16, 1 << (4 * seg.size - 1).bit_length())
    freqs = _peaks(seg, sr, n_fft, floor_db, min_hz, max_modes)
    if freqs.size == 0:
        raise ParameterError("no spectral peaks found above the floor; is this a strike?")
    gaps = np.diff(freqs)
    t60s, amps = [], []
    for i, f in enumerate(freqs):
        near = min(gaps[i - 1] if i > 0 else math.inf, gaps[i] if i < gaps.size else math.inf)
        bw = float(np.clip(near / 4.0, 2.0, max(2.0, 0.05 * f)))
        t60, amp = _decay(seg, sr, f, bw, floor_db)
        t60s.append(t60)
        amps.append(amp)
    t60s, amps = np.asarray(t60s), np.asarray(amps)
    # Window sidelobes show up as peaks whose band holds no decaying mode: drop them.
    real = amps >= amps.max() * 10.0 ** ((floor_db + 10.0) / 20.0)
    return ModeEstimate(freq_hz=freqs[real], t60_s=t60s[real], amp=amps[real])


__all__ = ["ModeEstimate", "estimate_modes"]
