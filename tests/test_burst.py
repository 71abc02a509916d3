"""The excitation burst (``rt/burst.py``): the gamma envelope's peak and cut, unit-variance band
noise, and batched bursts bit-identical to single ones."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.rt.burst import burst, burst_length, bursts, envelope, envelope_end

SR = 48000


def test_burst_envelope_peak_cut_and_unit_variance():
    assert envelope_end(2.0) > 1
    k, a = 3.0, 0.01
    length = burst_length(a, k, SR)
    env = envelope(length, a, k, SR)
    assert env.max() == pytest.approx(1.0, abs=1e-6)
    assert np.argmax(env) == pytest.approx(a * SR, abs=1)
    assert 20 * np.log10(env[-1]) == pytest.approx(-80.0, abs=0.1)
    # unit-variance band noise when the band is inside (0, Nyquist)
    b = burst(seed=3, attack_s=1.0, burst_shape=64.0, noise_hz=6000.0, noise_bw_hz=1000.0,
              sample_rate=SR)
    env = envelope(b.size, 1.0, 64.0, SR)
    core = slice(int(0.9 * SR), int(1.1 * SR))
    assert np.var(b[core] / env[core]) == pytest.approx(1.0, rel=0.05)


def test_batched_bursts_equal_single_bursts():
    rng = np.random.default_rng(3)
    n = 40
    p = dict(seed=rng.integers(0, 2**31, n), attack_s=rng.uniform(1e-4, 0.05, n),
             burst_shape=rng.uniform(0.5, 8, n), noise_hz=rng.uniform(100, 10000, n),
             noise_bw_hz=rng.choice([300.0, 2000.0, 20000.0], n))
    many = bursts(**p, sample_rate=SR)
    for i in range(n):
        one = burst(**{k: v[i] for k, v in p.items()}, sample_rate=SR)
        assert np.array_equal(many[i], one), i
