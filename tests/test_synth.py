"""The streaming synthesizer against the reference renderer, across block sizes and edits;
its float32 ring-out against float64, whole-tick rendering (carry), prefetched modes."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.rt import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.reference import render
from atomsynth.rt.synth import StreamingSynth
from atomsynth.rt.synth_kernels import ANCHOR, TICK

SR = 48000
BLOCKS = (1, 64, 65, 127, 8192, 8193)


def mixed_set(rng: np.random.Generator, *, n: int = 24, n_mdct: int = 40,
              duration_s: float = 0.5) -> AtomSet:
    table = ModeTable("bar", ratios=[1.0, 2.76, 5.40, 8.93], gains=[1.0, 0.6, 0.4, 0.2],
                      decays=[1.0, 0.7, 0.5, 0.3])
    res = ResonantAtoms(
        onset_s=rng.uniform(0, 0.3, n), f0_hz=rng.uniform(60, 3000, n),
        t60_s=rng.uniform(0.05, 0.5, n), gain_db=rng.uniform(-20, 0, n),
        pan=rng.uniform(-1, 1, n), n_modes=rng.integers(1, 48, n), mix=rng.uniform(0, 0.3, n),
        seed=rng.integers(0, 1000, n), attack_s=rng.uniform(0.0003, 0.01, n),
        inharmonicity=rng.uniform(0, 0.001, n), damping=rng.uniform(0, 1, n),
        preset=rng.choice([-1, 0], n), group=rng.integers(0, 3, n))
    md = MdctAtoms(scale=rng.choice([256, 2048], n_mdct), frame=rng.integers(0, 20, n_mdct),
                   bin=rng.integers(0, 100, n_mdct), channel=rng.integers(0, 2, n_mdct),
                   value=rng.normal(0, 0.5, n_mdct), group=rng.integers(0, 3, n_mdct))
    return AtomSet(sample_rate=SR, channels=2, resonant=res, mdct=md, duration_s=duration_s,
                   mode_tables=(table,))


@pytest.fixture(scope="module")
def aset() -> AtomSet:
    return mixed_set(np.random.default_rng(20261121))


F32_TOL = 1e-5
"""Float32 path (default): error bound relative to the reference's peak (measured ~1e-6)."""


def render_blocks(aset: AtomSet, block: int, *, edits=None, duration_s=None,
                  precision: str = "float32") -> np.ndarray:
    s = StreamingSynth(aset, max_block=8193, precision=precision)
    for fn in edits or ():
        fn(s)
    return s.render_all(block=block, duration_s=duration_s)


@pytest.mark.parametrize("precision, tol", [("float64", 1e-9), ("float32", F32_TOL)])
def test_equals_reference_every_family(aset, precision, tol):
    ref = render(aset)
    y = render_blocks(aset, 8192, precision=precision)
    peak = np.abs(ref).max()
    assert np.abs(y[0] - ref).max() <= tol * peak
    # each family on its own
    for part in (aset.replace(mdct=MdctAtoms.empty()),
                 aset.replace(resonant=ResonantAtoms.empty())):
        r = render(part)
        y = render_blocks(part, 4096, precision=precision)[0]
        assert np.abs(y - r).max() <= tol * np.abs(r).max()


def test_float32_path_does_not_drift():
    # 64 slowly decaying modes over 4 s (1,500 anchors): float32 rounding would accumulate
    # to ~1e-3 without re-anchoring from the exact state
    rng = np.random.default_rng(7)
    atoms = ResonantAtoms(onset_s=[0.0, 0.5], f0_hz=[55.0, 3000.0], n_modes=64, t60_s=20.0,
                          brightness=0.95, gain_db=-6.0, seed=rng.integers(0, 1000, 2),
                          inharmonicity=0.0003)
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=4.0)
    ref = render(aset)
    y = render_blocks(aset, 4096)[0]
    err = np.abs(y - ref)
    peak = np.abs(ref).max()
    assert err.max() <= F32_TOL * peak
    # and the error does not grow: last second no worse than 3x the second second
    assert err[:, 3 * SR :].max() <= 3 * err[:, SR : 2 * SR].max() + 1e-12


def test_block_sizes_bit_identical(aset):
    short = aset.replace(duration_s=0.12)
    base = render_blocks(short, 8192)
    for block in BLOCKS:
        assert np.array_equal(render_blocks(short, block), base), block


def test_block_sizes_identical_with_moving_controls(aset):
    def edits(s: StreamingSynth) -> None:
        s.set_macro("pitch", 1.5, at=1000)
        s.set_macro("decay", 0.5, at=2000)
        s.set_macro("brightness", 2.0, at=2100)
        s.set_macro("master_gain_db", -6.0, at=3001)
        s.set_group(1, gain_db=-12.0, pan=0.5, at=2500)
        s.set_atoms([0, 3], gain_db=-30.0, preset=0, at=4000)
        s.set_macro("time_stretch", 1.3, at=1500)
    short = aset.replace(duration_s=0.15)
    base = render_blocks(short, 8192, edits=[edits])
    for block in (64, 65, 127, 8193):
        assert np.array_equal(render_blocks(short, block, edits=[edits]), base), block
    # the edits changed the output from sample 1024 (first tick at or after 1000) on
    plain = render_blocks(short, 8192)
    diff = np.flatnonzero(np.abs(base[0] - plain[0]).max(axis=0) > 0)
    assert diff[0] == -(-1000 // TICK) * TICK


def test_master_gain_and_mute_are_exact_after_smoothing(aset):
    short = aset.replace(duration_s=0.3)
    ref = render(short)
    y = render_blocks(short, 256, edits=[lambda s: s.set_macro("master_gain_db", -6.0, at=0)])
    g = 10 ** (-6 / 20)
    tail = slice(4800, None)  # smoothing (5 ms time constant) has converged by 100 ms
    assert np.abs(y[0][:, tail] - g * ref[:, tail]).max() <= 1e-6 * np.abs(ref).max()
    muted = render_blocks(short, 256, edits=[lambda s: [s.set_group(g_, mute=True, at=0)
                                                        for g_ in range(3)]])
    assert np.abs(muted[0][:, 4800:]).max() <= 1e-5 * np.abs(ref).max()


def test_pitch_macro_moves_mode_frequency():
    atoms = ResonantAtoms(f0_hz=440.0, n_modes=1, t60_s=2.0, attack_s=0.0005, gain_db=0.0)
    aset = AtomSet(sample_rate=SR, channels=1, resonant=atoms, duration_s=1.0)
    y = render_blocks(aset, 512, edits=[lambda s: s.set_macro("pitch", 1.5, at=0)])[0, 0]
    seg = y[SR // 4 : SR // 4 + 16384] * np.hanning(16384)
    spec = np.abs(np.fft.rfft(seg, 1 << 18))
    f = np.argmax(spec) * SR / (1 << 18)
    assert abs(f - 660.0) < 0.5


def test_decay_macro_and_retirement():
    atoms = ResonantAtoms(f0_hz=300.0, n_modes=1, t60_s=0.2, attack_s=0.0005, gain_db=0.0)
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=1.0)
    s = StreamingSynth(aset)
    s.render(4096)
    assert s.atoms_playing == 1
    while s.position < SR:
        s.render(4096)
    assert s.atoms_playing == 0  # retired after burst + 100/60 * T60
    s2 = StreamingSynth(aset)
    s2.set_macro("decay", 2.0)
    s2.run_pending()
    y = s2.render_all(duration_s=1.0)[0, 0]
    env = [np.abs(y[i : i + 480]).max() for i in (4800, 4800 + 9600)]
    # doubled T60 = 0.4 s: 0.2 s later the level has fallen by 30 dB
    assert 20 * np.log10(env[0] / env[1]) == pytest.approx(30.0, abs=1.5)


def test_seek_starts_atoms_mid_way(aset):
    ref = render(aset)
    s = StreamingSynth(aset)
    s.seek(0.2)
    s.run_pending()
    y = s.render_all(duration_s=0.2)[0]
    n0 = int(0.2 * SR)
    # what was in the MDCT ring before the seek fades out over 8 ticks; after that: exact
    fade = 8 * TICK
    seg = ref[:, n0 + fade : n0 + y.shape[1]]
    assert np.abs(y[:, fade:] - seg).max() <= F32_TOL * np.abs(ref).max()


def test_loop_region_repeats():
    atoms = ResonantAtoms(onset_s=[0.01, 0.05], f0_hz=500.0, t60_s=0.01, gain_db=0.0)
    aset = AtomSet(sample_rate=SR, channels=1, resonant=atoms, duration_s=0.2)
    s = StreamingSynth(aset)
    s.set_loop(0.0, 0.1)
    y = s.render_all(duration_s=0.3, block=1000)[0, 0]
    period = int(0.1 * SR)
    assert np.abs(y[:period] - y[period : 2 * period]).max() < 1e-12
    assert np.abs(y[:period]).max() > 0.01


def test_bad_input_is_reported(aset):
    s = StreamingSynth(aset)
    with pytest.raises(ParameterError, match="pitch"):
        s.set_macro("pitch", 0.0)
    with pytest.raises(ParameterError, match="unknown"):
        s.set_macro("warp", 1.0)
    with pytest.raises(ParameterError, match="indices"):
        s.set_atoms([999], gain_db=0.0)


def test_preset_swap_before_start_uses_new_modes():
    # the edited atom starts after its modes were prefetched: they must be recomputed
    table = ModeTable("bar", ratios=[1.0, 2.76, 5.40], gains=[1.0, 0.6, 0.4],
                      decays=[1.0, 0.7, 0.5])
    def atoms(preset):
        return ResonantAtoms(onset_s=[0.0, 0.05], f0_hz=[300.0, 500.0], t60_s=0.2,
                             n_modes=8, preset=preset, seed=[1, 2])

    aset = AtomSet(sample_rate=SR, channels=1, resonant=atoms([-1, -1]), duration_s=0.3,
                   mode_tables=(table,))
    s = StreamingSynth(aset, precision="float64")
    head = s.render(1024).copy()  # both atoms' modes are prepared by now
    s.set_atoms([1], preset=0)
    y = np.concatenate([head, s.render_all(duration_s=0.3 - 1024 / SR)], axis=2)[0, 0]
    want = render(aset.replace(resonant=atoms([-1, 0])))[0]
    assert np.abs(y - want).max() <= 1e-9 * np.abs(want).max()


def test_float32_and_float64_paths_agree_and_float64_is_exact():
    rng = np.random.default_rng(11)
    n = 30
    atoms = ResonantAtoms(onset_s=rng.uniform(0, 0.2, n), f0_hz=rng.uniform(50, 4000, n),
                          t60_s=rng.uniform(0.05, 3.0, n), n_modes=rng.integers(1, 64, n),
                          seed=rng.integers(0, 1000, n), pan=rng.uniform(-1, 1, n))
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=1.0)
    ref = render(aset)
    peak = np.abs(ref).max()
    y32 = StreamingSynth(aset).render_all(block=777)[0]
    y64 = StreamingSynth(aset, precision="float64").render_all(block=777)[0]
    assert np.abs(y64 - ref).max() <= 1e-9 * peak
    e32 = np.abs(y32 - ref).max()
    assert e32 <= 1e-5 * peak
    assert e32 > 1e-9 * peak  # the float32 path did run


@pytest.mark.parametrize("block", [1, 31, 32, 33, ANCHOR + 1, 1000])
def test_carry_keeps_position_and_output(block):
    atoms = ResonantAtoms(onset_s=[0.001, 0.0123], f0_hz=[220.0, 1230.0], t60_s=0.5,
                          n_modes=12, seed=[5, 6])
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=0.1)
    base = StreamingSynth(aset).render_all(block=4096)
    s = StreamingSynth(aset)
    parts = []
    while s.position < base.shape[2]:
        k = min(block, base.shape[2] - s.position)
        parts.append(s.render(k).copy())
    assert np.array_equal(np.concatenate(parts, axis=2), base)


def test_precision_is_validated():
    aset = AtomSet(sample_rate=SR, channels=1, resonant=ResonantAtoms(f0_hz=100.0),
                   duration_s=0.1)
    with pytest.raises(ParameterError, match="precision"):
        StreamingSynth(aset, precision="float16")
