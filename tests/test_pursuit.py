"""Matching pursuit over a union of MDCT bases: kernels against rt.mdct, the greedy rule,
energy bookkeeping, determinism, multichannel, stop rules and the residual layer."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.offline import mp_kernels as K
from atomsynth.offline.codec import pursue
from atomsynth.offline.pursuit import _Tables, matching_pursuit
from atomsynth.offline.quality import snr_db
from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import from_bytes, to_bytes
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.mdct import mdct
from atomsynth.rt.reference import render

SR = 16000


@pytest.fixture
def music(rng):
    n = 12000
    t = np.arange(n) / SR
    x = np.zeros((2, n))
    for f, on in ((440, 0.05), (660, 0.3), (1320, 0.5)):
        env = np.where(t >= on, np.exp(-4 * (t - on)), 0.0)
        x[0] += env * np.sin(2 * np.pi * f * t)
    x[1, 3000:3100] = rng.standard_normal(100)  # a click in the right channel
    x[1] += 0.3 * np.sin(2 * np.pi * 220 * t)
    return x


@pytest.mark.parametrize("scale", [128, 1024, 8192])
def test_frame_kernel_matches_rt_mdct(rng, scale):
    h = scale // 2
    x = rng.standard_normal(5 * h)
    ref = mdct(x, h)
    tb = _Tables(np.array([h]))
    r = np.concatenate([np.zeros(h), x, np.zeros(2 * h)])
    out = np.zeros(h)
    for t in range(ref.shape[0]):
        K.frame_mdct(r, t * h, h, tb.win, tb.pre_re, tb.pre_im, tb.post_re, tb.post_im,
                     tb.tw_re, tb.tw_im, tb.rev, out, 0, np.zeros(h), np.zeros(h))
        np.testing.assert_allclose(out, ref[t], atol=1e-12)


def test_one_scale_pursuit_takes_the_largest_coefficients(music):
    x = music[:1]
    r = matching_pursuit(x, SR, scales=(512,), max_atoms=200)
    c = mdct(x, 256)[0]
    largest = np.sort(np.abs(c).ravel())[::-1][:200]
    np.testing.assert_allclose(np.abs(r.values), largest, rtol=1e-9)
    np.testing.assert_allclose(r.values, c[r.selection[:, 2], r.selection[:, 3]], rtol=1e-9)


def test_union_pursuit_energy_and_rendering(music):
    r = matching_pursuit(music, SR, snr_db=25.0)
    assert r.snr_db >= 25.0 and r.steps < 3000
    # orthonormal atoms: each step removes value**2 of residual energy
    assert r.step_energy[-1] == pytest.approx(r.signal_energy - np.sum(r.values ** 2),
                                              rel=1e-6)
    y = render(AtomSet(sample_rate=SR, channels=2, mdct=r.atoms,
                       duration_s=music.shape[1] / SR))
    assert snr_db(music, y) >= 25.0 - 1e-6  # the padded-domain SNR is a lower bound
    assert set(np.unique(r.atoms.channel)) == {0, 1}
    assert len(np.unique(r.atoms.scale)) >= 3  # several scales are used


@pytest.mark.parametrize("greed", [1.0, 0.5])
def test_deterministic(music, greed):
    a = matching_pursuit(music, SR, max_atoms=500, greed=greed)
    b = matching_pursuit(music, SR, max_atoms=500, greed=greed)
    assert np.array_equal(a.selection, b.selection) and np.array_equal(a.values, b.values)
    assert a.steps == 500


def test_weak_greedy_stays_close_to_plain(music):
    plain = matching_pursuit(music, SR, snr_db=20.0)
    weak = matching_pursuit(music, SR, snr_db=20.0, greed=0.5)
    assert weak.snr_db >= 20.0
    assert weak.steps <= 1.5 * plain.steps


def test_bitrate_stop_and_compact_file(music):
    kbps = 16.0
    s, r = pursue(music, SR, bitrate_bps=kbps * 1000, order="time")
    data = to_bytes(s, compact=True)
    assert len(data) * 8 / (music.shape[1] / SR) <= kbps * 1000
    assert len(s.mdct) > 50
    assert from_bytes(data) == s


def test_residual_layer(rng):
    n = 16000
    fit = AtomSet(sample_rate=SR, channels=1, duration_s=n / SR, resonant=ResonantAtoms(
        onset_s=[0.05, 0.4], f0_hz=[300.0, 450.0], t60_s=0.6, gain_db=-12.0, seed=[1, 2]))
    x = render(fit, duration_s=n / SR)
    t = np.arange(n) / SR
    x = x + 0.05 * np.sin(2 * np.pi * 2500 * t)  # what the fit misses
    s, r = pursue(x, SR, snr_db=20.0, base=fit, n_levels=1024, range_db=120.0)
    assert len(s.resonant) == 2 and len(s.mdct) > 0
    y = render(s, duration_s=n / SR)
    fit_only = snr_db(x, render(fit, duration_s=n / SR))
    # the residual layer removes 20 dB of what the fit left (quantization costs a little)
    # (at least: the pursuit's SNR is measured on a padded domain, a lower bound)
    assert fit_only + 19.5 <= snr_db(x, y) <= fit_only + 25.0
    back = from_bytes(to_bytes(s, compact=True))
    assert back.mdct == s.mdct and len(back.resonant) == 2


def test_stop_rule_required():
    with pytest.raises(ParameterError, match="stop rule"):
        matching_pursuit(np.ones((1, 100)), SR)
    with pytest.raises(ParameterError, match="scale"):
        matching_pursuit(np.ones((1, 100)), SR, scales=(100,), max_atoms=1)
