"""Live-control state (macros, per-group gain/pan/mute/solo/send) and applying it to atoms.

The engine applies these controls while it plays. For renders made without the engine, and
for "bake macros into the atoms", :func:`bake` applies the same controls to the atom
parameters: the macros as :mod:`atomsynth.rt.macros` defines them (the one definition the live
synth follows too), group gains add in dB, group pans add to atom pans, muted groups (or groups
not soloed while some are) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.macros import NEUTRAL, bake_macros
from atomsynth.rt.params import RESONANT_PARAMS
from atomsynth.rt.progress import Progress

_SPEC = {s.name: s for s in RESONANT_PARAMS}

MACRO_DEFAULTS = dict(NEUTRAL)
"""Engine macro names and their neutral values (from :mod:`atomsynth.rt.macros`)."""


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


def bake(atom_set: AtomSet, settings: MixSettings) -> AtomSet:
    """The atom set with the live controls applied to its parameters (see module docstring).

    Group controls first (inaudible groups dropped, group gains and pans added, clipped to
    their ranges), then the macros by :func:`atomsynth.rt.macros.bake_macros`.
    """
    audible = settings.audible_groups(atom_set.groups)
    res = atom_set.resonant.select(np.isin(atom_set.resonant.group, audible))
    md = atom_set.mdct.select(np.isin(atom_set.mdct.group, audible))
    if len(res):
        g_gain = np.array([settings.group(g).gain_db for g in res.group])
        g_pan = np.array([settings.group(g).pan for g in res.group])
        res = res.with_columns(gain_db=_clip("gain_db", res.gain_db + g_gain),
                               pan=_clip("pan", res.pan + g_pan))
    if len(md):
        g_gain = np.array([settings.group(g).gain_db for g in md.group])
        md = md.with_columns(value=np.clip(md.value * 10.0 ** (g_gain / 20.0), -1e6, 1e6))
    return bake_macros(atom_set.replace(resonant=res, mdct=md), settings.macros)


def _clip(name: str, x: np.ndarray) -> np.ndarray:
    return np.clip(x, _SPEC[name].lo, _SPEC[name].hi)


def render_baked(atom_set: AtomSet, settings: MixSettings, *, stems: bool = False,
                 sample_rate: int | None = None, progress: Progress | None = None):
    """Reference render of the set with the controls baked in: the mix, or ``{group: stem}``."""
    from atomsynth.rt.reference import render, render_stems

    baked = bake(atom_set, settings)
    if stems:
        return render_stems(baked, sample_rate=sample_rate, progress=progress)
    return render(baked, sample_rate=sample_rate, progress=progress)
