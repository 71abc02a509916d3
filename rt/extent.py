"""Where atoms start and end, in samples and seconds. Every renderer uses these rules, so a
streaming synthesizer retires an atom on exactly the sample where the reference stops it.

A resonant atom starts at sample ``n0 = floor(onset_s * sr + 0.5)`` and lasts its burst
(:func:`atomsynth.rt.burst.burst_length`) plus ``ceil(max_m T_m * 100 / 60 * sr)`` samples:
the slowest mode has decayed by 100 dB by then. An MDCT atom of hop ``N`` in frame ``t``
covers native samples ``[(t - 1) N, (t + 1) N)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from atomsynth.rt.burst import burst_length_array
from atomsynth.rt.modes import ModeTable, atom_modes

if TYPE_CHECKING:
    from atomsynth.rt.atoms import MdctAtoms, ResonantAtoms

RETIRE_DB = 100.0
"""Atoms stop once their slowest mode has decayed by this many dB."""


def onset_sample(onset_s: np.ndarray | float, sample_rate: float) -> np.ndarray:
    """First sample of an atom: ``floor(onset_s * sr + 0.5)``, int64."""
    return np.floor(np.asarray(onset_s, dtype=np.float64) * sample_rate + 0.5).astype(np.int64)


def burst_lengths(atoms: ResonantAtoms, sample_rate: float) -> np.ndarray:
    """Burst length of every atom in samples, int64, shape (n,)."""
    return burst_length_array(atoms.attack_s, atoms.burst_shape, sample_rate)


def tail_lengths(
    atoms: ResonantAtoms, tables: tuple[ModeTable, ...], sample_rate: float
) -> np.ndarray:
    """Samples after the burst until the slowest sounding mode is 100 dB down, int64, (n,)."""
    modes = atom_modes(atoms, tables, sample_rate)
    slowest = np.where(modes.active, modes.t60_s, 0.0).max(axis=1, initial=0.0)
    return np.ceil(slowest * (RETIRE_DB / 60.0) * sample_rate).astype(np.int64)


def atom_extent_samples(
    atoms: ResonantAtoms, tables: tuple[ModeTable, ...], sample_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(start, length)`` of every resonant atom in samples, both int64 arrays of shape (n,)."""
    start = onset_sample(atoms.onset_s, sample_rate)
    length = burst_lengths(atoms, sample_rate) + tail_lengths(atoms, tables, sample_rate)
    return start, length


def atom_end_s(atoms: ResonantAtoms, tables: tuple[ModeTable, ...], *, sample_rate: float = 48000.0
               ) -> np.ndarray:
    """End time of every resonant atom in seconds, shape (n,)."""
    start, length = atom_extent_samples(atoms, tables, sample_rate)
    return (start + length) / sample_rate


def mdct_end_s(atoms: MdctAtoms, sample_rate: float) -> np.ndarray:
    """End time of every MDCT atom in seconds, shape (n,): sample ``(frame + 1) * N``."""
    hop = atoms.scale.astype(np.int64) // 2
    return (atoms.frame.astype(np.int64) + 1) * hop / float(sample_rate)


def mdct_start_sample(atoms: MdctAtoms) -> np.ndarray:
    """First native sample of every MDCT atom: ``(frame - 1) * N``, int64 (may be negative)."""
    hop = atoms.scale.astype(np.int64) // 2
    return (atoms.frame.astype(np.int64) - 1) * hop


def ceil_samples(seconds: float, sample_rate: float) -> int:
    """``ceil(seconds * sr)`` guarded against float noise just above an integer."""
    x = seconds * sample_rate
    return int(math.ceil(x - 1e-9))
