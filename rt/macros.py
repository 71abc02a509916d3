"""The live macros, defined once: their ranges and what each does to the atoms.

The live synthesizer (:class:`atomsynth.rt.synth.StreamingSynth`), the bake ("apply the macros
to the atom parameters", :func:`bake_macros`) and the app's sliders all read this module, so a
set rendered with the macros baked in equals the live synth playing the original set with the
macros set (within the reference tolerance; ``tests/test_macros.py`` checks every macro).

Every macro acts on atom parameters, so it can be baked exactly:

========================  =====================================  ============================
macro (neutral, range)    resonant atoms                         MDCT atoms
========================  =====================================  ============================
``pitch`` (1, 1/16..16)   ``f0_hz`` and ``cutoff_hz`` times the  bin ``b`` moves to
                          ratio: the resonator is scaled as a    ``round((b + 0.5) r - 0.5)``
                          whole (every mode frequency, with its  (clipped to the frame)
                          gain pattern); the excitation burst
                          (``noise_hz``, ``noise_bw_hz``,
                          ``attack_s``) is unchanged
``time_stretch`` (1,      start sample ``k`` (from ``onset_s``)  first sample ``(t - 1) N``
0.05..20)                 becomes ``ceil(k s)``; durations       times ``s`` (the bake rounds
                          unchanged                              it to the frame grid)
``decay`` (1, 0.01..100)  ``t60_s`` times the ratio              --
``brightness`` (1,        ``cutoff_hz`` times the ratio          --
0.01..100)
``master_gain_db`` (0,    ``gain_db`` plus the value             values times
-120..24)                                                        ``10 ** (v / 20)``
========================  =====================================  ============================

Why this behaviour. An atom is a source (a noise burst) exciting a resonator (decaying modes).
Playing a modal instrument at another pitch changes the resonator (a smaller bar: every mode
frequency scales, its mode gain pattern stays, so the Gaussian low-pass ``cutoff_hz`` that
shapes it moves along) but not what strikes it, so the burst keeps its spectrum. Brightness is
the hardness of the strike: a harder mallet has a shorter contact and excites higher modes, which
is the low-pass corner ``cutoff_hz`` moving up. Mode weights are then normalized as for any atom
(:func:`atomsynth.rt.burst.resonance_norm`: equal gains sound about equally loud), live as in the
bake. MDCT atoms have no source/resonator split; their spectrum moves as a whole.

Limits of the live synth against the bake (documented, not tested): modes above Nyquist at the
set's rate stay dropped when the pitch goes down; decays clamped to [0.001, 120] s at load stay
clamped; baked parameters are clipped to their ranges (``rt/params.py``); an atom's tail is its
base tail times the decay ratio (the bake recomputes it: a difference of a few samples at
-100 dB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from atomsynth.rt.atoms import AtomSet, MdctAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.params import RESONANT_PARAMS


@dataclass(frozen=True)
class Macro:
    """One live macro.

    Attributes
    ----------
    name : str
        Engine name (``StreamingSynth.set_macro``).
    lo, hi, neutral : float
        Allowed range and the value that changes nothing.
    unit : str
        ``"ratio"`` (a factor) or ``"dB"``.
    scales : tuple of str
        Resonant parameters multiplied by the value (``"ratio"`` macros).
    adds : tuple of str
        Resonant parameters the value is added to (``"dB"`` macros).
    """

    name: str
    lo: float
    hi: float
    neutral: float
    unit: str
    scales: tuple[str, ...] = ()
    adds: tuple[str, ...] = ()

    def check(self, value: float) -> float:
        """``value`` as a float, or :class:`ParameterError` naming the macro and its range."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{self.name} = {value!r} is not a number; allowed "
                                 f"[{self.lo}, {self.hi}]") from None
        if not math.isfinite(v) or not self.lo <= v <= self.hi:
            raise ParameterError(f"{self.name} = {value!r} is out of range; allowed "
                                 f"[{self.lo}, {self.hi}]")
        return v


LIVE_MACROS: dict[str, Macro] = {m.name: m for m in (
    Macro("pitch", 1.0 / 16.0, 16.0, 1.0, "ratio", scales=("f0_hz", "cutoff_hz")),
    Macro("time_stretch", 0.05, 20.0, 1.0, "ratio"),  # onsets: see stretch_onset_samples
    Macro("decay", 0.01, 100.0, 1.0, "ratio", scales=("t60_s",)),
    Macro("brightness", 0.01, 100.0, 1.0, "ratio", scales=("cutoff_hz",)),
    Macro("master_gain_db", -120.0, 24.0, 0.0, "dB", adds=("gain_db",)),
)}
"""Every live macro by name, in display order."""

NEUTRAL = {name: m.neutral for name, m in LIVE_MACROS.items()}
"""The neutral value of every macro."""


def macro(name: str) -> Macro:
    """The macro called ``name``, or :class:`ParameterError` listing the known ones."""
    try:
        return LIVE_MACROS[name]
    except (KeyError, TypeError):
        raise ParameterError(f"macro {name!r} is unknown; known: {sorted(LIVE_MACROS)}") from None


def stretch_onset_samples(start: np.ndarray | float, stretch: float) -> np.ndarray:
    """Start sample of an atom under ``time_stretch``: the first output sample whose score
    position ``n / stretch`` reaches the atom's start ``start`` (int64)."""
    return np.ceil(np.asarray(start, np.float64) * stretch).astype(np.int64)


def pitch_mdct_bins(bins: np.ndarray, hop: np.ndarray | int, ratio: float) -> np.ndarray:
    """MDCT bins under the ``pitch`` macro: ``round((b + 0.5) ratio - 0.5)`` in [0, hop - 1]."""
    if ratio == 1.0:
        return np.asarray(bins, np.int64)
    moved = np.round((np.asarray(bins) + 0.5) * ratio - 0.5)
    return np.clip(moved, 0, np.asarray(hop) - 1).astype(np.int64)


_SPEC = {s.name: s for s in RESONANT_PARAMS}


def _clip(name: str, x: np.ndarray) -> np.ndarray:
    return np.clip(x, _SPEC[name].lo, _SPEC[name].hi)


def bake_macros(atom_set: AtomSet, values: dict[str, float]) -> AtomSet:
    """The atom set with the macros ``values`` (name -> value, missing ones neutral) applied
    to its atom parameters (see the module's table); values are checked against their ranges.
    """
    v = {name: macro(name).check(x) for name, x in values.items()}
    v = {**NEUTRAL, **v}
    sr = float(atom_set.sample_rate)
    res, md = atom_set.resonant, atom_set.mdct
    stretch = v["time_stretch"]
    if len(res):
        cols: dict[str, np.ndarray] = {}
        for m in LIVE_MACROS.values():
            for p in m.scales:
                cols[p] = cols.get(p, getattr(res, p)) * v[m.name]
            for p in m.adds:
                cols[p] = cols.get(p, getattr(res, p)) + v[m.name]
        if stretch != 1.0:
            k = np.floor(res.onset_s * sr + 0.5)  # onset_sample
            cols["onset_s"] = stretch_onset_samples(k, stretch) / sr
        res = res.with_columns(**{p: _clip(p, x) for p, x in cols.items()})
    if len(md):
        md = _bake_mdct(md, v)
    dur = atom_set.duration_s
    if dur is not None:
        dur = min(86400.0, dur * stretch)
    return atom_set.replace(resonant=res, mdct=md, duration_s=dur)


def _bake_mdct(md: MdctAtoms, v: dict[str, float]) -> MdctAtoms:
    hop = md.scale.astype(np.int64) // 2
    frames = md.frame.astype(np.int64)
    if v["time_stretch"] != 1.0:
        first = stretch_onset_samples((frames - 1) * hop, v["time_stretch"])
        frames = np.maximum(np.round(first / hop).astype(np.int64) + 1, 0)
    bins = pitch_mdct_bins(md.bin, hop, v["pitch"])
    value = md.value * 10.0 ** (v["master_gain_db"] / 20.0)
    return md.with_columns(frame=frames, bin=bins, value=np.clip(value, -1e6, 1e6))


__all__ = ["LIVE_MACROS", "NEUTRAL", "Macro", "bake_macros", "macro", "pitch_mdct_bins",
           "stretch_onset_samples"]
