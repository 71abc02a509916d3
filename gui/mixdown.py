"""Live-control state (macros, per-group gain/pan/mute/solo/send) and applying it to atoms.

The engine applies these controls while it plays. For renders made without the engine, and
for "bake macros into the atoms", :func:`bake` applies the same controls to the atom
parameters: pitch multiplies ``f0_hz`` and ``noise_hz`` (MDCT atoms: bins), time stretch
multiplies onsets (MDCT: frames), decay multiplies ``t60_s``, brightness multiplies
``cutoff_hz``, gains add in dB, group pans add to atom pans, muted groups (or groups not
soloed while some are) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.params import RESONANT_PARAMS
from atomsynth.rt.progress import Progress

_SPEC = {s.name: s for s in RESONANT_PARAMS}

MACRO_DEFAULTS = {"pitch": 1.0, "time_stretch": 1.0, "decay": 1.0, "brightness": 1.0,
                  "master_gain_db": 0.0}
"""Engine macro names and their neutral values (ratios, and dB for the master gain)."""


@dataclass
class GroupControl:
    """Live settings of one group (stem)."""

    gain_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False
    room_send: float = 1.0  # factor on the atoms' wet sends, [0, 4]


@dataclass
class MixSettings:
    """All live controls: macros by engine name, and per-group controls by group id."""

    macros: dict[str, float] = field(default_factory=lambda: dict(MACRO_DEFAULTS))
    groups: dict[int, GroupControl] = field(default_factory=dict)

    def group(self, g: int) -> GroupControl:
        return self.groups.setdefault(int(g), GroupControl())

    def audible_groups(self, groups) -> list[int]:
        """The groups that sound: not muted, and soloed when any group is soloed."""
        groups = [int(g) for g in groups]
        soloed = [g for g in groups if self.group(g).solo]
        pool = soloed if soloed else groups
        return [g for g in pool if not self.group(g).mute]

    @property
    def neutral(self) -> bool:
        return self.macros == MACRO_DEFAULTS and all(
            c == GroupControl() for c in self.groups.values())


def _clip(name: str, x: np.ndarray, hi: float | None = None) -> np.ndarray:
    s = _SPEC[name]
    return np.clip(x, s.lo, s.hi if hi is None else min(s.hi, hi))


def bake(atom_set: AtomSet, settings: MixSettings) -> AtomSet:
    """The atom set with the live controls applied to its parameters (see module docstring)."""
    m = {**MACRO_DEFAULTS, **settings.macros}
    audible = settings.audible_groups(atom_set.groups)
    res = atom_set.resonant.select(np.isin(atom_set.resonant.group, audible))
    md = atom_set.mdct.select(np.isin(atom_set.mdct.group, audible))
    sr = atom_set.sample_rate
    if len(res):
        g_gain = np.array([settings.group(g).gain_db for g in res.group])
        g_pan = np.array([settings.group(g).pan for g in res.group])
        res = res.with_columns(
            onset_s=_clip("onset_s", res.onset_s * m["time_stretch"]),
            f0_hz=_clip("f0_hz", res.f0_hz * m["pitch"], sr / 2),
            noise_hz=_clip("noise_hz", res.noise_hz * m["pitch"]),
            t60_s=_clip("t60_s", res.t60_s * m["decay"]),
            cutoff_hz=_clip("cutoff_hz", res.cutoff_hz * m["brightness"] * m["pitch"]),
            gain_db=_clip("gain_db", res.gain_db + g_gain + m["master_gain_db"]),
            pan=_clip("pan", res.pan + g_pan),
        )
    if len(md):
        hop = md.scale.astype(np.int64) // 2
        g_gain = np.array([settings.group(g).gain_db for g in md.group])
        frames = np.round(md.frame * m["time_stretch"]).astype(np.int64)
        bins = np.clip(np.round((md.bin + 0.5) * m["pitch"] - 0.5), 0, hop - 1).astype(np.int64)
        value = md.value * 10.0 ** ((g_gain + m["master_gain_db"]) / 20.0)
        md = md.with_columns(frame=frames, bin=bins, value=np.clip(value, -1e6, 1e6))
    dur = atom_set.duration_s
    if dur is not None:
        dur = min(86400.0, dur * m["time_stretch"])
    return atom_set.replace(resonant=res, mdct=md, duration_s=dur)


def render_baked(atom_set: AtomSet, settings: MixSettings, *, stems: bool = False,
                 sample_rate: int | None = None, progress: Progress | None = None):
    """Reference render of the set with the controls baked in: the mix, or ``{group: stem}``."""
    from atomsynth.rt.reference import render, render_stems

    baked = bake(atom_set, settings)
    if stems:
        return render_stems(baked, sample_rate=sample_rate, progress=progress)
    return render(baked, sample_rate=sample_rate, progress=progress)
