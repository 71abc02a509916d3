"""The steady bank of the streaming synthesizer: free-ringing modes of atoms with steady
controls rendered in one long loop; atoms leave it on edits, macro moves and near their end."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.extent import atom_extent_samples, burst_lengths
from atomsynth.rt.modes import ModeTable, atom_modes
from atomsynth.rt.reference import render
from atomsynth.rt.synth import StreamingSynth

SR = 48000
TOL = 1e-5  # float32 path (bank included), relative to the reference's peak


def ringing_set(n: int = 40, channels: int = 2) -> AtomSet:
    rng = np.random.default_rng(7)
    table = ModeTable("bar", ratios=[1.0, 2.76, 5.40], gains=[1.0, 0.6, 0.4],
                      decays=[1.0, 0.7, 0.5])
    atoms = ResonantAtoms(onset_s=rng.uniform(0, 0.15, n), f0_hz=rng.uniform(60, 3000, n),
                          t60_s=rng.uniform(0.05, 1.5, n), n_modes=rng.integers(1, 40, n),
                          gain_db=rng.uniform(-20, 0, n), pan=rng.uniform(-1, 1, n),
                          seed=rng.integers(0, 1000, n), group=rng.integers(0, 3, n),
                          preset=rng.choice([-1, 0], n))
    return AtomSet(sample_rate=SR, channels=channels, resonant=atoms, duration_s=0.6,
                   mode_tables=(table,))


def modes_in_bank(s: StreamingSynth) -> int:
    """Modes the steady bank holds now: its entries in use minus the unused ones (the bank's
    control record holds [entries used, entries unused, last anchor sample])."""
    used, unused = int(s._bctl[0]), int(s._bctl[1])
    return used - unused


def render_tracking(s: StreamingSynth, total: int, block: int) -> tuple[np.ndarray, int]:
    """Render ``total`` samples in blocks; also the most modes the bank held at a block end."""
    parts, most = [], 0
    while s.position < total:
        parts.append(s.render(min(block, total - s.position)).copy())
        most = max(most, modes_in_bank(s))
    return np.concatenate(parts, axis=2), most


def test_bank_holds_exactly_the_steady_modes():
    """Without edits, at every block end the bank holds at least every mode of the atoms that
    are steady there (burst over and two anchors past it, more than an anchor and a tick from
    their end) and at most the modes sounding there; once no burst is under way, exactly
    the sounding modes."""
    aset = ringing_set()
    atoms = aset.resonant
    start, length = atom_extent_samples(atoms, aset.mode_tables, SR)
    burst = burst_lengths(atoms, SR)
    modes = atom_modes(atoms, aset.mode_tables, SR).active.sum(axis=1)
    s = StreamingSynth(aset)
    exact = 0
    for t in range(3200, int(0.6 * SR), 3200):
        while s.position < t:
            s.render(min(1000, t - s.position))
        held = modes_in_bank(s)
        sounding = modes[(start <= t) & (t < start + length)].sum()
        steady = modes[(start + burst + 2 * 128 + 64 <= t) & (t + 128 + 64 <= start + length)]
        assert steady.sum() <= held <= sounding, t
        exact += held == sounding
    assert modes.sum() > 300 and exact >= 4


@pytest.mark.parametrize("channels", [1, 2])
def test_bank_holds_modes_and_matches_reference(channels):
    aset = ringing_set(channels=channels)
    ref = render(aset)
    y, most = render_tracking(StreamingSynth(aset), ref.shape[1], 1000)
    assert most > 200  # most sounding modes went through the bank
    assert np.abs(y[0] - ref).max() <= TOL * np.abs(ref).max()


def live_edits(s: StreamingSynth) -> None:
    s.set_atoms([3, 5, 8], gain_db=-12.0, at=9000)  # bank members leave (gain ramp)
    s.set_atoms([4], pan=0.9, at=9000)
    s.set_group(1, mute=True, at=11000)
    s.set_atoms([6, 9], preset=0, at=12345)  # re-tuned while in the bank
    s.set_macro("pitch", 1.05, at=14000)  # every atom leaves (poles move)
    s.set_macro("decay", 0.8, at=14000)
    s.set_group(1, mute=False, at=20000)  # atoms join again when the macros have settled


@pytest.mark.parametrize("block", [1, 64, 65, 127, 8192, 8193])
def test_bank_block_size_identical_with_edits(block):
    aset = ringing_set()
    total = int(0.6 * SR)

    def run(b):
        s = StreamingSynth(aset, max_block=8193)
        live_edits(s)
        return render_tracking(s, total, b)

    base, most = run(4096)
    y, _ = run(block)
    assert most > 200
    assert np.array_equal(y, base)


def test_bank_edits_agree_with_exact_path():
    # float64 precision never uses the bank: the same edits must give the same sound
    aset = ringing_set()
    total = int(0.6 * SR)
    out = []
    for precision in ("float32", "float64"):
        s = StreamingSynth(aset, precision=precision)
        live_edits(s)
        s.seek(0.05, at=25000)  # sounding atoms (bank members) fade out, others start mid-way
        out.append(render_tracking(s, total, 512)[0])
    peak = np.abs(out[1]).max()
    assert peak > 0.01
    assert np.abs(out[0] - out[1]).max() <= TOL * peak


def test_loop_with_bank_repeats():
    # a loop of whole ticks repeats exactly although atoms join and leave the bank
    rng = np.random.default_rng(8)
    n = 12
    atoms = ResonantAtoms(onset_s=rng.uniform(0, 0.1, n), f0_hz=rng.uniform(60, 3000, n),
                          t60_s=rng.uniform(0.03, 0.08, n), n_modes=24,
                          pan=rng.uniform(-1, 1, n), seed=rng.integers(0, 1000, n))
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=0.4)
    s = StreamingSynth(aset)
    s.set_loop(0.0, 0.4)
    period = int(0.4 * SR)
    y, most = render_tracking(s, 3 * period, 1000)
    assert most > 50
    assert np.abs(y[0, :, period:]).max() > 0.01
    assert np.abs(y[0, :, period : 2 * period] - y[0, :, 2 * period :]).max() <= 1e-12


def test_fast_decaying_modes_never_go_subnormal():
    """Modes with millisecond decays inside longer-lived atoms are flushed to exact zero at an
    anchor instead of decaying into subnormal floats (100x slower arithmetic; a dense set of
    wood-block clicks once rendered 10x slower)."""
    from atomsynth.rt import AtomSet, ResonantAtoms
    from atomsynth.rt.presets import get_preset
    from atomsynth.rt.synth import StreamingSynth

    rng = np.random.default_rng(3)
    n = 300
    block = get_preset("wood_block")
    atoms = ResonantAtoms(onset_s=np.sort(rng.uniform(0, 1.0, n)), f0_hz=rng.uniform(1500, 4000, n),
                          t60_s=0.08, damping=0.6, preset=0, n_modes=len(block),
                          attack_s=0.0015, noise_hz=3000.0, noise_bw_hz=2500.0,
                          seed=np.arange(n), gain_db=-26.0, pan=rng.uniform(-0.5, 0.5, n))
    synth = StreamingSynth(AtomSet(sample_rate=48000, channels=2, resonant=atoms,
                                   mode_tables=(block,)), max_block=8192)
    y = np.concatenate([synth.render(8000) for _ in range(5)], axis=1)
    assert np.abs(y).max() > 1e-3
    for name in ("_sre", "_sim", "_bf", "_bd", "_q32"):
        a = np.abs(np.asarray(getattr(synth, name)))
        tiny = np.finfo(a.dtype).tiny
        assert not np.any((a > 0) & (a < tiny)), f"subnormal values in {name}"
