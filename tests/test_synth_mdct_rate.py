"""MDCT atoms at another rate than the output's: synthesized on their native grid and resampled
block by block; the same samples as the offline reference, whatever the block sizes."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.rt import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.reference import render
from atomsynth.rt.resample import resample, resample_stream
from atomsynth.rt.synth import StreamingSynth

NATIVE, OUT = 22050, 48000
F32_TOL = 1e-5
"""The synthesizer's float32 path against the reference, relative to the peak (as in
tests/test_synth.py); the MDCT part alone is within 1e-12 (float64 inverse MDCT and the same
resampler on both sides)."""


def mdct_set(rng: np.random.Generator, *, n_res: int = 12, n_mdct: int = 60,
             duration_s: float = 0.6) -> AtomSet:
    md = MdctAtoms(scale=rng.choice([256, 2048], n_mdct), frame=rng.integers(0, 12, n_mdct),
                   bin=rng.integers(0, 100, n_mdct), channel=rng.integers(0, 2, n_mdct),
                   value=rng.normal(0, 0.5, n_mdct), group=rng.integers(0, 3, n_mdct))
    res = ResonantAtoms(onset_s=rng.uniform(0, 0.3, n_res), f0_hz=rng.uniform(80, 3000, n_res),
                        t60_s=rng.uniform(0.05, 0.3, n_res), gain_db=rng.uniform(-20, -6, n_res),
                        pan=rng.uniform(-1, 1, n_res), n_modes=8,
                        seed=rng.integers(0, 1000, n_res))
    return AtomSet(sample_rate=NATIVE, channels=2, resonant=res, mdct=md, duration_s=duration_s)


@pytest.fixture(scope="module")
def aset() -> AtomSet:
    return mdct_set(np.random.default_rng(20261202))


def test_stream_resampler_equals_one_pass_soxr():
    x = np.random.default_rng(1).standard_normal((2, 5000))
    a = resample(x, NATIVE, OUT)
    assert np.array_equal(resample_stream(x, NATIVE, OUT, a.shape[1]), a)


def test_mdct_at_48k_equals_offline_reference(aset):
    mdct_only = aset.replace(resonant=ResonantAtoms.empty())
    ref = render(mdct_only, sample_rate=OUT)
    y = StreamingSynth(mdct_only, sample_rate=OUT).render_all(block=4096)[0]
    assert y.shape == ref.shape
    assert np.abs(ref).max() > 0.01
    assert np.abs(y - ref).max() <= 1e-12 * np.abs(ref).max()
    ref = render(aset, sample_rate=OUT)
    y = StreamingSynth(aset, sample_rate=OUT).render_all(block=4096)[0]
    assert np.abs(y - ref).max() <= F32_TOL * np.abs(ref).max()


@pytest.mark.parametrize("block", [1, 64, 65, 127, 1000, 8192])
def test_block_sizes_bit_identical(aset, block):
    short = aset.replace(duration_s=0.2)
    base = StreamingSynth(short, sample_rate=OUT, max_block=8192).render_all(block=8192)
    y = StreamingSynth(short, sample_rate=OUT, max_block=8192).render_all(block=block)
    assert np.array_equal(y, base)


def test_edits_seek_and_loop_are_block_size_independent(aset):
    def run(block: int) -> np.ndarray:
        s = StreamingSynth(aset, sample_rate=OUT, max_block=8192)
        s.set_group(1, gain_db=-12.0, at=3000)
        s.set_macro("time_stretch", 1.25, at=5000)
        s.seek(0.1, at=9000)
        s.set_loop(0.1, 0.3)
        return s.render_all(block=block, duration_s=0.8)
    base = run(8192)
    for block in (100, 257):
        assert np.array_equal(run(block), base), block


def test_loop_repeats_the_resampled_mdct_part(aset):
    """The loop wraps on the native clock: with a period of whole samples at both rates, the
    second and third passes are the same (both follow a pass's ringing tail)."""
    s = StreamingSynth(aset.replace(resonant=ResonantAtoms.empty()), sample_rate=OUT)
    s.set_loop(0.1, 0.3)  # 4,410 native samples, 9,600 output samples
    y = s.render_all(block=512, duration_s=1.0)[0]
    period, w1 = int(0.2 * OUT), int(0.3 * OUT)
    second, third = y[:, w1 : w1 + period], y[:, w1 + period : w1 + 2 * period]
    assert np.abs(second).max() > 0.01
    assert np.abs(third - second).max() <= 1e-9 * np.abs(second).max()


def test_set_at_another_rate_can_be_swapped_in(aset):
    s = StreamingSynth(aset.replace(mdct=MdctAtoms.empty(), sample_rate=OUT), sample_rate=OUT)
    s.set_atom_set(aset.replace(resonant=ResonantAtoms.empty()))
    y = s.render_all(duration_s=0.3)[0]
    assert np.abs(y).max() > 0.01
