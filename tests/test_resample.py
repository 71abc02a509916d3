"""Resampling: no wrap-around (a click at the end stays at the end), sines keep amplitude,
frequency and phase, stop-band content is removed, lengths and shapes."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.rt.resample import resample


@pytest.mark.parametrize(("sr_in", "sr_out"), [(48000, 16000), (44100, 48000), (22050, 48000)])
def test_click_at_the_end_does_not_appear_at_the_start(sr_in, sr_out):
    x = np.zeros(sr_in // 10)
    x[-1] = 1.0
    y = resample(x, sr_in, sr_out)
    assert y.shape == (round(x.size * sr_out / sr_in),)
    assert np.abs(y[: y.size // 2]).max() < 1e-12  # a periodic (FFT) resampler leaks ~0.06-0.3
    assert np.abs(y[-40:]).max() > 0.05  # the click is still there, at the end


# Error against the exact sine; near the band edge (6 kHz at 16 kHz is 75 % of Nyquist) the
# low-pass's pass-band ripple shows: 1.1e-4 measured, i.e. -76 dB.
@pytest.mark.parametrize(("sr_out", "freq_hz", "tol"), [
    (48000, 1000.0, 1e-6), (48000, 12345.6, 1e-6), (16000, 1000.0, 1e-6), (16000, 6000.0, 2e-4)])
def test_sine_keeps_amplitude_frequency_and_phase(sr_out, freq_hz, tol):
    sr_in = 44100
    t = np.arange(sr_in // 2) / sr_in
    x = 0.7 * np.sin(2 * np.pi * freq_hz * t + 0.3)
    y = resample(x, sr_in, sr_out)
    ref = 0.7 * np.sin(2 * np.pi * freq_hz * np.arange(y.size) / sr_out + 0.3)
    inner = slice(sr_out // 20, -sr_out // 20)  # away from the edges of the finite signal
    assert np.abs(y[inner] - ref[inner]).max() < tol


def test_content_above_the_new_nyquist_is_removed():
    sr_in, sr_out = 44100, 16000
    t = np.arange(sr_in // 2) / sr_in
    y = resample(np.sin(2 * np.pi * 12000.0 * t), sr_in, sr_out)
    assert np.abs(y[sr_out // 20 : -sr_out // 20]).max() < 1e-6


def test_shapes_length_and_equal_rates(rng):
    x = rng.normal(size=(2, 3, 1000))
    y = resample(x, 48000, 22050)
    assert y.shape == (2, 3, 459) and y.dtype == np.float64
    # each signal is resampled on its own
    np.testing.assert_allclose(y[1, 2], resample(x[1, 2], 48000, 22050), rtol=0, atol=1e-15)
    assert resample(x, 48000, 22050, length=500)[..., 459:].max() == 0.0
    np.testing.assert_array_equal(resample(x, 48000, 22050, length=100), y[..., :100])
    np.testing.assert_array_equal(resample(x, 16000, 16000), x)
    assert resample(np.zeros((2, 0)), 16000, 48000).shape == (2, 0)
