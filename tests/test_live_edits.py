"""Issue 16, live edits: an edit is checked against the atom set in force when it applies, so
none kills the render thread; one that still raises there is reported and dropped while the
synth keeps rendering; macro and gain edits coalesce (the newest value per control wins)."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atoms import MdctAtoms
from atomsynth.rt.edit_queue import EditQueue
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.synth import StreamingSynth

SR = 22050


def _set(n: int, channels: int = 2) -> AtomSet:
    return AtomSet(sample_rate=SR, channels=channels, resonant=ResonantAtoms(
        onset_s=np.linspace(0.0, 0.05, n), f0_hz=np.linspace(200.0, 800.0, n), t60_s=0.2,
        gain_db=-20.0, seed=np.arange(n)), duration_s=0.3)


def test_set_atom_set_with_another_channel_count_is_refused_at_once():
    s = StreamingSynth(_set(58), max_block=4096)
    with pytest.raises(ParameterError, match="1 channel"):
        s.set_atom_set(_set(10, channels=1))
    assert s.render(1024).shape[1] == 2


def test_set_atom_set_with_mdct_atoms_at_another_rate_plays_resampled():
    """Once refused (it killed the render thread); MDCT atoms now play at the synth's rate."""
    s = StreamingSynth(_set(58), max_block=4096)
    other = AtomSet(sample_rate=44100, channels=2, mdct=MdctAtoms(
        1, scale=[256], frame=[1], bin=[3], channel=[0], value=[0.1], group=[0]))
    s.set_atom_set(other)
    out = np.concatenate([s.render(1024)[0] for _ in range(8)], axis=1)
    assert np.isfinite(out).all() and s.atom_set is other
    assert list(s.edit_errors) == []  # (its samples: tests/test_synth_mdct_rate.py)


def test_set_atoms_checked_against_the_set_queued_before_it():
    s = StreamingSynth(_set(58), max_block=4096)
    s.set_atom_set(_set(10))
    with pytest.raises(ParameterError, match=r"\[0, 9\]"):
        s.set_atoms([50], gain_db=-6.0)
    s.set_atoms([9], gain_db=-6.0)  # valid against the new set
    s.render(2048)
    assert list(s.edit_errors) == []


def test_an_edit_that_raises_in_the_render_thread_is_dropped_and_reported():
    """Scheduled out of order (``at``), an atom edit passes its check against the set queued
    then, but a smaller set lands first: the edit raises when it applies."""
    base, small = _set(58), _set(10)
    s = StreamingSynth(base, max_block=4096)
    s.set_atoms([50], gain_db=0.0, at=1024)
    s.set_atom_set(small, at=0)
    out = s.render(4096)
    assert len(s.edit_errors) == 1 and "50" in s.edit_errors[0]
    ref = StreamingSynth(base, max_block=4096)
    ref.set_atom_set(small, at=0)
    np.testing.assert_allclose(out, ref.render(4096), rtol=0, atol=1e-12)
    assert np.isfinite(s.render(4096)).all()  # and it keeps rendering


def test_preset_checked_against_the_set_in_force():
    s = StreamingSynth(_set(10), max_block=4096)
    with pytest.raises(ParameterError, match="preset"):
        s.set_atoms([0], preset=0)  # the set has no mode tables


def test_20000_macro_edits_coalesce_none_refused():
    q = EditQueue(4096)
    applied: dict[str, float] = {}
    names = ("pitch", "decay", "brightness", "master_gain_db")
    for i in range(20_000):
        name = names[i % len(names)]
        assert q.push(lambda n=name, v=float(i): applied.__setitem__(n, v), key=("macro", name))
    assert len(q) == len(names) and q.refused == 0 and q.coalesced == 20_000 - len(names)
    assert q.drain(lambda fn: fn()) == len(names)
    assert applied == {n: float(19_996 + k) for k, n in enumerate(names)}


def test_unkeyed_edits_stay_in_order_and_are_bounded():
    q = EditQueue(3)
    seen = []
    assert q.push(lambda: seen.append(1))
    assert q.push(lambda: seen.append("k"), key="k")
    assert q.push(lambda: seen.append(2))
    assert not q.push(lambda: seen.append(3))
    assert q.push(lambda: seen.append("k2"), key="k")  # coalesces: no room needed
    q.drain(lambda fn: fn())
    assert seen == [1, "k2", 2] and q.refused == 1
