"""One definition of the macros: a baked set rendered by the reference equals the live synth
playing the original set with the macro set, for every macro."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.rt import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.macros import LIVE_MACROS, NEUTRAL, bake_macros, macro
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.reference import render
from atomsynth.rt.synth import StreamingSynth

SR = 48000
TOL = 1e-5
"""Relative to the reference's peak: the float32 path's bound (tests/test_synth.py)."""


def macro_set() -> AtomSet:
    """Resonant atoms (parametric and preset, every mode under Nyquist at the set's rate, some
    crossing it at pitch 1.5) on whole even samples, MDCT atoms of two scales."""
    rng = np.random.default_rng(20261202)
    n, n_mdct = 20, 30
    table = ModeTable("bar", ratios=[1.0, 2.76, 5.40, 8.93], gains=[1.0, 0.6, 0.4, 0.2],
                      decays=[1.0, 0.7, 0.5, 0.3])
    res = ResonantAtoms(
        onset_s=2 * rng.integers(0, 6000, n) / SR, f0_hz=rng.uniform(80, 2000, n),
        t60_s=rng.uniform(0.05, 0.3, n), gain_db=rng.uniform(-20, 0, n),
        pan=rng.uniform(-1, 1, n), n_modes=rng.integers(1, 11, n), mix=rng.uniform(0, 0.3, n),
        seed=rng.integers(0, 1000, n), attack_s=rng.uniform(0.0003, 0.005, n),
        cutoff_hz=rng.uniform(1000, 6000, n), brightness=rng.uniform(0.5, 1.0, n),
        damping=rng.uniform(0, 1, n), preset=rng.choice([-1, 0], n))
    md = MdctAtoms(scale=rng.choice([256, 2048], n_mdct), frame=rng.integers(0, 12, n_mdct),
                   bin=rng.integers(0, 100, n_mdct), channel=rng.integers(0, 2, n_mdct),
                   value=rng.normal(0, 0.5, n_mdct))
    return AtomSet(sample_rate=SR, channels=2, resonant=res, mdct=md, duration_s=0.4,
                   mode_tables=(table,))


CASES = [("pitch", 1.5), ("pitch", 0.7), ("time_stretch", 2.0), ("time_stretch", 0.62),
         ("decay", 0.5), ("decay", 2.0), ("brightness", 0.5), ("brightness", 3.0),
         ("master_gain_db", -9.0)]


def test_every_macro_is_tested():
    assert {name for name, _ in CASES} == set(LIVE_MACROS)


@pytest.mark.parametrize("name, value", CASES)
def test_baked_set_equals_live_synth(name, value):
    aset = macro_set()
    if name == "time_stretch" and value != 2.0:
        aset = aset.replace(mdct=MdctAtoms.empty())  # MDCT frames bake to the frame grid
    baked = bake_macros(aset, {name: value})
    ref = render(baked)
    synth = StreamingSynth(aset)
    synth.set_macro(name, value)
    synth.run_pending()
    live = synth.render_all(duration_s=baked.length_s)[0]
    peak = np.abs(ref).max()
    assert live.shape == ref.shape
    assert np.abs(live - ref).max() <= TOL * peak, name
    # and the macro did something audible
    assert np.abs(ref[:, : render(aset).shape[1]] - render(aset)[:, : ref.shape[1]]).max() \
        > 100 * TOL * peak


def test_pitch_keeps_the_burst_and_moves_the_resonator():
    aset = macro_set()
    baked = bake_macros(aset, {"pitch": 2.0, "brightness": 1.5})
    r0, r1 = aset.resonant, baked.resonant
    np.testing.assert_allclose(r1.f0_hz, r0.f0_hz * 2.0)
    np.testing.assert_allclose(r1.cutoff_hz, r0.cutoff_hz * 3.0)
    np.testing.assert_array_equal(r1.noise_hz, r0.noise_hz)
    np.testing.assert_array_equal(r1.attack_s, r0.attack_s)


def test_neutral_bake_is_identity_and_bad_values_are_reported():
    aset = macro_set()
    assert bake_macros(aset, dict(NEUTRAL)) == aset
    with pytest.raises(ParameterError, match="pitch"):
        bake_macros(aset, {"pitch": 0.0})
    with pytest.raises(ParameterError, match="unknown"):
        macro("warp")


def test_app_sliders_cover_the_macros_within_their_ranges():
    pytest.importorskip("PySide6")
    from atomsynth.gui.macros import MACRO_SLIDERS

    assert [s.name for s in MACRO_SLIDERS] == list(LIVE_MACROS)
    for s in MACRO_SLIDERS:
        for x in (s.lo, s.hi):
            macro(s.name).check(s.to_value(x))  # raises when a slider end is out of range
