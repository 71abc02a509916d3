"""The excitation burst of a resonant atom, and the resonance's loudness normalization.

The burst of an atom at sample rate ``sr`` is ``L`` samples long (:func:`burst_length`):

    b[n] = env(n / sr) * nu[n],   env(t) = (t / attack_s)^k * exp(k * (1 - t / attack_s))

with ``k = burst_shape`` (peak 1 at ``attack_s``, cut where the envelope falls under -80 dB
after its peak) and ``nu`` band-limited noise of unit variance: the counter-based noise of
:mod:`atomsynth.rt.noise` (times sqrt(3)) over ``M`` samples (:func:`noise_fft_length`),
filtered circularly in the frequency domain by

    F(f) = exp(-0.5 * ((f - noise_hz) / noise_bw_hz)^2) * sqrt(sr / (2 * noise_bw_hz * sqrt(pi)))

and cut to its first ``L`` samples. ``M`` is a power of two at least ``L`` and at least
``2 sr / noise_bw_hz``, so even narrow bands are resolved. The gain makes the filtered noise's
variance 1 when the band lies inside (0, Nyquist).

The resonance path is scaled by :func:`resonance_norm` so that a mode at the centre of the
noise band rings with an expected initial amplitude ``a_m / sqrt(sum a_m^2)`` (expected over
noise seeds: one burst's spectrum at a frequency is Rayleigh-distributed) — equal
``gain_db`` then sounds about equally loud whatever the burst length, band or mode count.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from atomsynth.rt.noise import uniform_noise, uniform_noise_into

ENVELOPE_FLOOR_DB = -80.0
SQRT3 = math.sqrt(3.0)
SQRT_PI = math.sqrt(math.pi)


def envelope_end(shape: float) -> float:
    """``x > 1`` where ``x^k exp(k (1 - x))`` falls to -80 dB; the burst lasts ``x * attack_s``."""
    k = float(shape)
    c = ENVELOPE_FLOOR_DB / 20.0 * math.log(10.0) / k  # target of ln x + 1 - x
    x = 1.0 + math.sqrt(-2.0 * c)  # quadratic approximation near the peak, then Newton
    for _ in range(60):
        g = math.log(x) + 1.0 - x - c
        step = g / (1.0 / x - 1.0)
        x_new = x - step
        if x_new <= 1.0:
            x_new = 0.5 * (x + 1.0)
        if abs(x_new - x) <= 1e-13 * x:
            x = x_new
            break
        x = x_new
    return x


def burst_length(attack_s: float, shape: float, sample_rate: float) -> int:
    """Samples in the burst: ``ceil(attack_s * envelope_end(shape) * sr)``, at least 1."""
    return max(1, math.ceil(attack_s * envelope_end(shape) * sample_rate))


def noise_fft_length(length: int, noise_bw_hz: float, sample_rate: float) -> int:
    """FFT length M of the noise filter: a power of two >= ``length`` and >= ``2 sr / bw``."""
    need = max(int(length), math.ceil(2.0 * sample_rate / noise_bw_hz), 16)
    return 1 << (need - 1).bit_length()


_envelope_end_cached = functools.lru_cache(maxsize=4096)(envelope_end)


def burst_length_array(attack_s: np.ndarray, burst_shape: np.ndarray,
                       sample_rate: float) -> np.ndarray:
    """:func:`burst_length` of many atoms (arrays of shape (n,)): int64, shape (n,)."""
    ends = np.array([_envelope_end_cached(float(k)) for k in np.asarray(burst_shape)],
                    dtype=np.float64)
    return np.maximum(1, np.ceil(np.asarray(attack_s, dtype=np.float64) * ends
                                 * sample_rate)).astype(np.int64)


def noise_fft_length_array(length: np.ndarray, noise_bw_hz: np.ndarray,
                           sample_rate: float) -> np.ndarray:
    """:func:`noise_fft_length` of many atoms (arrays of shape (n,)): int64, shape (n,)."""
    return np.array([noise_fft_length(int(n), float(bw), sample_rate)
                     for n, bw in zip(np.asarray(length), np.asarray(noise_bw_hz))],
                    dtype=np.int64)


def convolution_fft_length(length: int) -> int:
    """FFT length for the linear convolution of two ``length``-sample signals: the power of
    two >= ``2 length - 1``."""
    return 1 << (2 * int(length) - 1).bit_length()


def envelope(length: int, attack_s: float, shape: float, sample_rate: float) -> np.ndarray:
    """The gamma envelope sampled at ``n / sr`` for ``n < length``, float64, shape (length,)."""
    x = np.arange(length, dtype=np.float64) / (sample_rate * attack_s)
    k = float(shape)
    with np.errstate(divide="ignore"):
        return np.exp(k * (np.log(x) + 1.0 - x))


def noise_filter_gain(
    freqs_hz: np.ndarray, noise_hz: float, noise_bw_hz: float, sample_rate: float
) -> np.ndarray:
    """The real, zero-phase filter ``F(f)`` applied to the unit-variance white noise."""
    scale = math.sqrt(sample_rate / (2.0 * noise_bw_hz * SQRT_PI))
    return np.exp(-0.5 * ((freqs_hz - noise_hz) / noise_bw_hz) ** 2) * scale


def burst(
    *,
    seed: int,
    attack_s: float,
    burst_shape: float,
    noise_hz: float,
    noise_bw_hz: float,
    sample_rate: float,
) -> np.ndarray:
    """The excitation burst ``b``, float64, shape (burst_length,)."""
    length = burst_length(attack_s, burst_shape, sample_rate)
    m = noise_fft_length(length, noise_bw_hz, sample_rate)
    white = uniform_noise(seed, 0, m) * SQRT3
    spectrum = np.fft.rfft(white)
    freqs = np.arange(spectrum.size) * (sample_rate / m)
    spectrum *= noise_filter_gain(freqs, noise_hz, noise_bw_hz, sample_rate)
    band = np.fft.irfft(spectrum, n=m)[:length]
    return band * envelope(length, attack_s, burst_shape, sample_rate)


def bursts(
    *,
    seed: np.ndarray,
    attack_s: np.ndarray,
    burst_shape: np.ndarray,
    noise_hz: np.ndarray,
    noise_bw_hz: np.ndarray,
    sample_rate: float,
) -> list[np.ndarray]:
    """The bursts of many atoms at once: the same values as :func:`burst` for each
    (parameters are arrays of shape (n,)); atoms sharing an FFT length are filtered in one
    2-D FFT. Returns n float64 arrays."""
    n = len(seed)
    lengths = [burst_length(float(attack_s[i]), float(burst_shape[i]), sample_rate)
               for i in range(n)]
    ffts = noise_fft_length_array(np.array(lengths, np.int64), noise_bw_hz, sample_rate)
    out: list[np.ndarray] = [np.zeros(0)] * n
    for m in np.unique(ffts):
        rows = np.flatnonzero(ffts == m)
        white = np.empty((rows.size, int(m)))
        for j, i in enumerate(rows):
            uniform_noise_into(int(seed[i]), 0, white[j])
        spectrum = np.fft.rfft(white * SQRT3, axis=1)
        freqs = np.arange(spectrum.shape[1]) * (sample_rate / m)
        for j, i in enumerate(rows):
            spectrum[j] *= noise_filter_gain(freqs, float(noise_hz[i]), float(noise_bw_hz[i]),
                                             sample_rate)
        band = np.fft.irfft(spectrum, n=int(m), axis=1)
        for j, i in enumerate(rows):
            L = lengths[i]
            out[i] = band[j, :L] * envelope(L, float(attack_s[i]), float(burst_shape[i]),
                                            sample_rate)
    return out


def envelope_energy_s(attack_s: float, shape: float) -> float:
    """``integral of env(t)^2 dt`` over t >= 0 in seconds (closed form, uncut tail)."""
    k2 = 2.0 * float(shape)
    return float(attack_s) * math.exp(k2 + math.lgamma(k2 + 1.0) - (k2 + 1.0) * math.log(k2))


def envelope_spread_s(attack_s: float, shape: float) -> float:
    """Standard deviation in seconds of ``env(t)^2`` read as a distribution (a gamma law of
    shape ``2k + 1`` and rate ``2k / attack_s``): ``attack_s * sqrt(2k + 1) / (2k)``."""
    k2 = 2.0 * float(shape)
    return float(attack_s) * math.sqrt(k2 + 1.0) / k2


def effective_bandwidth_hz(noise_bw_hz: float, attack_s: float, shape: float) -> float:
    """The burst's bandwidth: the noise band widened by the envelope's own spectrum.

    ``sqrt(bw^2 + 1 / (8 pi^2 tau^2))`` with ``tau = envelope_spread_s``, from convolving the
    Gaussian noise spectrum with a Gaussian of the envelope's spectral width.
    """
    tau = envelope_spread_s(attack_s, shape)
    return math.sqrt(noise_bw_hz**2 + 1.0 / (8.0 * math.pi**2 * tau**2))


def resonance_norm(
    amp: np.ndarray, *, attack_s: float, burst_shape: float, noise_bw_hz: float
) -> float:
    """Scale of the resonance path, applied to the continuous-time convolution ``b * h``.

    ``sqrt(2 bw_eff sqrt(pi) / E_env) / sqrt(sum amp^2)`` with ``E_env`` the envelope's energy
    (:func:`envelope_energy_s`) and ``bw_eff`` :func:`effective_bandwidth_hz`; 0 when no mode
    sounds. A mode at the centre of the noise band then rings with expected initial amplitude
    ``a_m / sqrt(sum a^2)``. The discrete renderers multiply ``sum_j b[j] h[n - j]`` by
    ``resonance_norm / sr``.
    """
    power = float(np.sum(np.square(amp)))
    if power <= 0.0:
        return 0.0
    e_env = envelope_energy_s(attack_s, burst_shape)
    bw = effective_bandwidth_hz(noise_bw_hz, attack_s, burst_shape)
    return math.sqrt(2.0 * bw * SQRT_PI / e_env) / math.sqrt(power)
