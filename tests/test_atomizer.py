"""The MDCT atomizer: exact round trip to the quantization step, selection rules, orders."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atomsynth.offline.atomizer import atomize, atoms_for_snr
from atomsynth.offline.quality import snr_db
from atomsynth.rt.atomfile import from_bytes, to_bytes
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.features import ORDERS, order, quantize_mdct
from atomsynth.rt.mdct import imdct, mdct
from atomsynth.rt.reference import render

SR = 16000


def signal(rng, channels=2, n=6000):
    t = np.arange(n) / SR
    x = np.stack([np.sin(2 * np.pi * (300 + 200 * c) * t) * np.exp(-3 * t) for c in
                  range(channels)])
    return x + 0.05 * rng.standard_normal(x.shape)


def test_all_atoms_round_trip_exact_to_the_step(rng):
    x = signal(rng)
    n_levels, range_db = 8192, 300.0
    step = range_db / (n_levels - 1)
    s = atomize(x, SR, scale=256, n_levels=n_levels, range_db=range_db, order="time")
    c = mdct(x, 128)
    assert len(s.mdct) == np.count_nonzero(c)
    a = s.mdct
    orig = c[a.channel, a.frame, a.bin]
    assert np.array_equal(np.sign(a.value), np.sign(orig))
    err_db = np.abs(20 * np.log10(np.abs(a.value) / np.abs(orig)))
    assert err_db.max() <= step / 2 + 1e-9
    # the rendered signal: the inverse MDCT of the quantized coefficients, and close to x
    q = np.zeros_like(c)
    q[a.channel, a.frame, a.bin] = a.value
    y = render(s)
    np.testing.assert_allclose(y, imdct(q, x.shape[1]), atol=1e-12)
    rel = 10 ** (step / 40) - 1  # worst relative amplitude error of one atom
    assert snr_db(x, y) >= -20 * math.log10(rel)


def test_selection_rules(rng):
    x = signal(rng, channels=1)
    full = atomize(x, SR, scale=512)
    mags = np.sort(np.abs(full.mdct.value))[::-1]
    top = atomize(x, SR, scale=512, keep_top=50)
    assert len(top.mdct) == 50
    np.testing.assert_allclose(np.sort(np.abs(top.mdct.value))[::-1], mags[:50])
    thr = atomize(x, SR, scale=512, threshold_db=30.0)
    below = -20 * np.log10(np.abs(thr.mdct.value) / mags[0])
    assert below.max() <= 30.0 + 1e-9
    assert len(thr.mdct) == np.count_nonzero(-20 * np.log10(mags / mags[0]) <= 30.0 + 1e-9)
    k20 = atoms_for_snr(mdct(x, 256), [20.0])[0]
    snr = atomize(x, SR, scale=512, snr_db=20.0, n_levels=4096, range_db=200.0)
    assert len(snr.mdct) == k20 and snr_db(x, render(snr)) == pytest.approx(20.0, abs=0.5)


def test_bitrate_rule_counts_every_byte(rng):
    x = signal(rng, channels=1, n=16000)
    for kbps in (4.0, 12.0):
        s = atomize(x, SR, scale=512, bitrate_bps=kbps * 1000)
        nbytes = len(to_bytes(s, compact=True))
        assert nbytes * 8 / (x.shape[1] / SR) <= kbps * 1000
        more = atomize(x, SR, scale=512, keep_top=len(s.mdct) + 1)
        assert len(to_bytes(more, compact=True)) * 8 / (x.shape[1] / SR) > kbps * 1000


@pytest.mark.parametrize("by", [o for o in ORDERS if o != "none"])
def test_orders_and_compact_round_trip(rng, by):
    x = signal(rng)
    s = atomize(x, SR, scale=1024, keep_top=400, order=by)
    feats = quantize_mdct(s.mdct, n_levels=64, range_db=96.0,
                          ref=s.provenance["mdct_quantization"]["ref"])
    assert np.array_equal(order(feats, by), np.arange(len(feats)))
    back = from_bytes(to_bytes(s, compact=True))
    assert back == s  # decodes exactly to the quantized atoms, in their order


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match="scale"):
        atomize(np.zeros((1, 100)), SR, scale=300)
    with pytest.raises(ParameterError, match="NaN"):
        atomize(np.full((1, 100), np.nan), SR)
    with pytest.raises(ParameterError, match="order"):
        atomize(np.ones((1, 100)), SR, order="pitch")
    with pytest.raises(ParameterError, match="n_levels"):
        atomize(np.ones((1, 100)), SR, n_levels=1)
