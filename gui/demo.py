"""A generated atom set for when no bundled example is installed, for tests and benchmarks.

``demo_atom_set(n_atoms)`` is a seeded phrase over a pentatonic scale in three groups (a bass
line, a melody, percussive clicks); with ``n_atoms`` in the thousands it is the stress test of
the view.
"""

from __future__ import annotations

import numpy as np

from atomsynth.rt.atoms import AtomSet, ResonantAtoms
from atomsynth.rt.errors import PresetError
from atomsynth.rt.presets import add_mode_table, get_preset

_SCALE = np.array([0, 2, 4, 7, 9])


def demo_atom_set(n_atoms: int = 48, *, duration_s: float | None = None, seed: int = 7,
                  sample_rate: int = 48000) -> AtomSet:
    """A stereo set of ``n_atoms`` resonant atoms, groups 0 (melody), 1 (bass), 2 (clicks).

    Parameters
    ----------
    n_atoms : int
        Number of atoms (1 to 1,000,000).
    duration_s : float, optional
        Length of the phrase; default 0.125 s per atom of the melody, at least 4 s.
    seed : int
        Seed of the generator that picks notes, gains, pans.
    """
    rng = np.random.default_rng(seed)
    n_atoms = int(n_atoms)
    group = rng.choice(3, size=n_atoms, p=[0.55, 0.25, 0.2]).astype(np.int32)
    dur = duration_s if duration_s is not None else max(4.0, 0.2 * n_atoms * 0.55)
    onset = np.sort(rng.uniform(0, dur * 0.9, n_atoms))
    degree = rng.integers(0, len(_SCALE), n_atoms)
    octave = np.where(group == 0, rng.integers(5, 7, n_atoms),
                      np.where(group == 1, rng.integers(2, 4, n_atoms), 8))
    midi = 12 * octave + _SCALE[degree]
    f0 = 440.0 * 2.0 ** ((midi - 69) / 12)
    f0 = np.where(group == 2, rng.uniform(1500, 4000, n_atoms), f0)
    atom_set = AtomSet(sample_rate=sample_rate, channels=2,
                       group_names=("melody", "bass", "clicks"),
                       provenance={"tool": "atomsynth.gui.demo", "seed": seed})
    try:
        atom_set, marimba = add_mode_table(atom_set, get_preset("marimba"))
        atom_set, wood = add_mode_table(atom_set, get_preset("wood_block"))
    except PresetError:  # presets not installed: parametric modes only
        marimba = wood = -2
    preset = np.where(group == 0, marimba, np.where(group == 2, wood, -1)).astype(np.int32)
    preset[preset < -1] = -1
    sizes = {i: len(t) for i, t in enumerate(atom_set.mode_tables)}
    n_modes = np.array([sizes.get(int(p), 12) for p in preset], dtype=np.int32)
    res = ResonantAtoms(
        onset_s=onset,
        gain_db=np.where(group == 2, -26.0, -16.0) + rng.normal(0, 3, n_atoms),
        pan=np.clip(rng.normal(0, 0.4, n_atoms), -1, 1),
        f0_hz=f0,
        t60_s=np.where(group == 1, 1.8, np.where(group == 2, 0.08, 0.9)) * rng.uniform(
            0.7, 1.3, n_atoms),
        damping=0.6, brightness=np.where(group == 1, 0.55, 1.0), cutoff_hz=9000.0,
        n_modes=n_modes, noise_hz=np.minimum(f0 * 2, 8000), noise_bw_hz=2500.0,
        attack_s=np.where(group == 1, 0.004, 0.0015), burst_shape=2.0,
        seed=rng.integers(0, 2**32 - 1, n_atoms, dtype=np.uint32), preset=preset,
        group=group,
    )
    return atom_set.replace(resonant=res, duration_s=float(dur))
