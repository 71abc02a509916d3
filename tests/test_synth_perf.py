"""Performance paths of the streaming synthesizer: batched bursts, prefetched modes, float32
ring-out, whole-tick rendering (carry)."""

from __future__ import annotations

import numpy as np
import pytest
from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.burst import burst, bursts
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.reference import render
from atomsynth.rt.synth import StreamingSynth
from atomsynth.rt.synth_kernels import ANCHOR

SR = 48000


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


def test_render_cli_stream_matches_reference(tmp_path, capsys):
    from atomsynth.rt.atomfile import save
    from atomsynth.rt.audio_io import read_audio

    from atomsynth.cli import main

    atoms = ResonantAtoms(onset_s=[0.0, 0.1, 0.2], f0_hz=[220.0, 330.0, 440.0], t60_s=0.3,
                          gain_db=-6.0, group=[0, 1, 1], seed=[3, 4, 5])
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=0.8)
    path = tmp_path / "t.atoms"
    save(aset, path)
    ref = render(aset)
    for precision, tol in (("float32", 1e-5), ("float64", 1e-7)):  # float32 WAV: ~6e-8
        out = tmp_path / f"{precision}.wav"
        assert main(["render", str(path), "-o", str(out), "--dry", "--stream", "--quiet",
                     "--precision", precision]) == 0
        y, _ = read_audio(out)
        assert np.abs(y - ref).max() <= tol * np.abs(ref).max()
        assert "real time" in capsys.readouterr().out
