"""Objective quality measures: SNR, multi-resolution log-spectral distance, mel distance, ViSQOL.

All functions take a reference and a degraded signal, each ``(channels, samples)`` float64 (a
1-D array is taken as one channel), and their sample rate in Hz. The degraded signal is cut or
zero-padded to the reference's length; channel counts must match.

Definitions
-----------
``snr_db``
    ``10 log10(sum(ref**2) / sum((ref - deg)**2))`` over all channels and samples.
``log_spectral_distance``
    For each FFT size in ``(512, 1024, 2048)`` (Hann window, hop = size / 4, power spectra
    ``P = |STFT|**2 + 1e-10``): the RMS over bins of ``10 log10 P_ref - 10 log10 P_deg`` (dB),
    averaged over frames and channels; then averaged over the FFT sizes. In dB; 0 is identical.
``mel_distance``
    L1 distance of log-mel spectrograms: STFT (at the signals' own rate) with a 2048-sample
    Hann window and hop 512, centred frames, magnitudes ``|STFT|`` mapped through 80
    triangular HTK-mel filters from 0 Hz to ``sample_rate / 2`` (area-normalized, Slaney
    style), then ``log10(max(mel, 1e-5))``; the mean absolute difference over
    frames, mel bands and channels. Unitless (log10 units); 0 is identical. This is the
    "mel distance" of neural codec papers (HiFi-GAN / DAC style, single resolution).
``visqol``
    ViSQOL v3 audio mode (MOS-LQO, 1 to 5, higher is better) through the pure-Python
    ``visqol-python`` package; both signals are resampled to 48 kHz (what audio mode needs) and
    each channel is scored separately; the mean over channels is returned.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from atomsynth.rt.errors import AtomsynthError, ParameterError
from atomsynth.rt.params import check_sample_rate
from atomsynth.rt.resample import resample
from atomsynth.rt.stft import stft

VISQOL_RATE = 48000
LSD_FFT_SIZES = (512, 1024, 2048)
MEL_FFT = 2048
MEL_HOP = 512
MEL_BANDS = 80
MEL_FLOOR = 1e-5


def _pair(reference: np.ndarray, degraded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64)
    deg = np.asarray(degraded, dtype=np.float64)
    if ref.ndim == 1:
        ref = ref[None]
    if deg.ndim == 1:
        deg = deg[None]
    if ref.ndim != 2 or deg.ndim != 2:
        raise ParameterError(f"signals must have shape (channels, samples); got {ref.shape} "
                             f"and {deg.shape}")
    if ref.shape[0] != deg.shape[0]:
        raise ParameterError(f"channel counts differ: reference {ref.shape[0]}, degraded "
                             f"{deg.shape[0]}")
    if ref.shape[1] == 0:
        raise ParameterError("reference signal is empty")
    if not (np.isfinite(ref).all() and np.isfinite(deg).all()):
        raise ParameterError("signals contain NaN or infinite samples")
    out = np.zeros_like(ref)
    n = min(ref.shape[1], deg.shape[1])
    out[:, :n] = deg[:, :n]
    return ref, out


def snr_db(reference: np.ndarray, degraded: np.ndarray) -> float:
    """Signal-to-noise ratio in dB of ``degraded`` against ``reference`` (inf when equal)."""
    ref, deg = _pair(reference, degraded)
    err = float(np.sum((ref - deg) ** 2))
    sig = float(np.sum(ref ** 2))
    if err == 0.0:
        return math.inf
    if sig == 0.0:
        return -math.inf
    return 10.0 * math.log10(sig / err)


def _stft_power(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Power spectrogram of ``x`` (C, T), centred frames (zero-padded): shape (C, frames, bins)."""
    spec = stft(x, n_fft=n_fft, hop=hop)
    return spec.real ** 2 + spec.imag ** 2


def log_spectral_distance(reference: np.ndarray, degraded: np.ndarray, sample_rate: int,
                          *, fft_sizes: tuple[int, ...] = LSD_FFT_SIZES) -> float:
    """Multi-resolution log-spectral distance in dB (see the module docstring)."""
    check_sample_rate(sample_rate)
    ref, deg = _pair(reference, degraded)
    out = []
    for n_fft in fft_sizes:
        pr = _stft_power(ref, n_fft, n_fft // 4) + 1e-10
        pd = _stft_power(deg, n_fft, n_fft // 4) + 1e-10
        d = 10.0 * np.log10(pr) - 10.0 * np.log10(pd)
        out.append(float(np.mean(np.sqrt(np.mean(d ** 2, axis=-1)))))
    return float(np.mean(out))


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


@lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int = MEL_FFT, n_mels: int = MEL_BANDS) -> np.ndarray:
    """Triangular HTK-mel filters, area-normalized, shape (n_mels, n_fft // 2 + 1)."""
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    fb = np.maximum(0.0, np.minimum(up, down))
    fb *= (2.0 / (hi - lo))
    fb.flags.writeable = False
    return fb


def log_mel(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """``log10(max(mel(|STFT|), 1e-5))`` of ``x`` (C, T): shape (C, frames, 80)."""
    mag = np.sqrt(_stft_power(np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1]),
                              MEL_FFT, MEL_HOP))
    mel = mag @ mel_filterbank(int(sample_rate)).T
    return np.log10(np.maximum(mel, MEL_FLOOR))


def mel_distance(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
    """L1 distance of log-mel spectrograms (see the module docstring); 0 when identical."""
    sr = check_sample_rate(sample_rate)
    ref, deg = _pair(reference, degraded)
    return float(np.mean(np.abs(log_mel(ref, sr) - log_mel(deg, sr))))


@lru_cache(maxsize=1)
def _visqol_api():
    try:
        from visqol import VisqolApi
    except ImportError:
        raise AtomsynthError("ViSQOL needs the visqol-python package: pip install "
                             "'atomsynth[eval]' (or pip install visqol-python)") from None
    import logging

    logging.getLogger("visqol").setLevel(logging.ERROR)
    api = VisqolApi()
    api.create(mode="audio")
    return api


VISQOL_MIN_S = 1.25
"""ViSQOL's audio mode needs at least 45 spectral frames (about 1 s at 48 kHz)."""


def visqol(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
    """ViSQOL v3 audio-mode MOS-LQO (1 to 5), mean over channels, at 48 kHz.

    Clips shorter than :data:`VISQOL_MIN_S` are repeated (both signals, identically) until
    they are that long, since ViSQOL cannot score shorter signals.
    """
    sr = check_sample_rate(sample_rate)
    ref, deg = _pair(reference, degraded)
    if sr != VISQOL_RATE:
        ref = resample(ref, sr, VISQOL_RATE)
        deg = resample(deg, sr, VISQOL_RATE, length=ref.shape[1])
    need = int(np.ceil(VISQOL_MIN_S * VISQOL_RATE))
    if 0 < ref.shape[1] < need:
        reps = -(-need // ref.shape[1])
        ref, deg = np.tile(ref, (1, reps)), np.tile(deg, (1, reps))
    api = _visqol_api()
    scores = [float(api.measure_from_arrays(ref[c], deg[c], VISQOL_RATE).moslqo)
              for c in range(ref.shape[0])]
    return float(np.mean(scores))
