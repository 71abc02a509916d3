"""Offline renders with the live controls: replay the controls on a fresh streaming synthesizer,
render block by block through the effects, and write the mix and the stems.

This is the one place that does it, for the engine (:meth:`Engine.render_offline`), the app's
"render mix / stems" and ``atomsynth render``. A stem is one group rendered alone through its
own copy of the rooms and inserts; the mix written next to the stems is their sum, so stems sum
to the mix exactly (with nonlinear inserts that differs from running the inserts on the sum).
Stem files are named ``<group, two digits>_<group name>`` (:func:`stem_file_name`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.audio_io import write_audio
from atomsynth.rt.extent import ceil_samples
from atomsynth.rt.progress import Progress
from atomsynth.rt.synth import StreamingSynth

if TYPE_CHECKING:
    from atomsynth.rt.effects import EffectsBridge


@dataclass
class Controls:
    """The controls a live session has set, to replay on a fresh synthesizer.

    Attributes
    ----------
    macros : dict of str to float
        Macro values by name (:meth:`StreamingSynth.set_macro`).
    groups : dict of int to dict
        Per group, the keyword arguments of :meth:`StreamingSynth.set_group` last given.
    atom_edits : list of (ndarray of int, dict)
        Atom edits in order: indices and the keyword arguments of
        :meth:`StreamingSynth.set_atoms`.
    """

    macros: dict[str, float] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    atom_edits: list[tuple[np.ndarray, dict[str, Any]]] = field(default_factory=list)

    def apply(self, synth: StreamingSynth) -> None:
        """Set every control on ``synth`` and apply them now."""
        for name, value in self.macros.items():
            synth.set_macro(name, value)
        for group, kw in self.groups.items():
            synth.set_group(group, **kw)
        for indices, kw in self.atom_edits:
            synth.set_atoms(indices, **kw)
        synth.run_pending()


def render_through(synth: StreamingSynth, effects: EffectsBridge | None, *,
                   duration_s: float | None = None, block: int = 256,
                   progress: Progress | None = None) -> np.ndarray:
    """Render ``synth`` block by block through ``effects`` (None: dry), shape (channels, n)."""
    dur = synth.atom_set.length_s if duration_s is None else float(duration_s)
    total = ceil_samples(dur, synth.sample_rate)
    out = np.zeros((synth.channels, total))
    use_fx = effects is not None and effects.active
    for a in range(0, total, block):
        b = min(a + block, total)
        buses = synth.render(b - a)
        out[:, a:b] = effects.process(buses) if use_fx else buses[0]
        if progress is not None and (a // block) % 64 == 0:
            progress(b / total)
    if progress is not None:
        progress(1.0)
    return out


def render_with_controls(atom_set: AtomSet, *, sample_rate: int | None = None,
                         controls: Controls | None = None,
                         effects: EffectsBridge | None = None, n_rooms: int | None = None,
                         duration_s: float | None = None, block: int = 256,
                         precision: str = "float32",
                         progress: Progress | None = None) -> np.ndarray:
    """A fresh :class:`StreamingSynth` for ``atom_set`` with ``controls`` replayed, rendered
    through ``effects`` in blocks of ``block`` frames (the synthesizer's output does not depend
    on it; effects see blocks of this size). Returns float64, shape (channels, samples), up to
    ``duration_s`` (default: the set's length)."""
    synth = StreamingSynth(atom_set, sample_rate=sample_rate, max_block=8192, n_rooms=n_rooms,
                           precision=precision)
    (controls or Controls()).apply(synth)
    return render_through(synth, effects, duration_s=duration_s, block=block, progress=progress)


def group_subset(atom_set: AtomSet, group: int) -> AtomSet:
    """The atoms of one group (both families), with everything else of the set kept."""
    return atom_set.replace(resonant=atom_set.resonant.select(atom_set.resonant.group == group),
                            mdct=atom_set.mdct.select(atom_set.mdct.group == group))


def render_stems_with_controls(atom_set: AtomSet, groups: Sequence[int], *,
                               effects: Callable[[], EffectsBridge | None] | None = None,
                               duration_s: float | None = None,
                               progress: Progress | None = None,
                               **kw: Any) -> dict[int, np.ndarray]:
    """``{group: audio}``: each group rendered alone by :func:`render_with_controls` (same
    keyword arguments) through its own effects, ``effects()`` (called once per group, in order;
    None: dry). ``duration_s`` defaults to the whole set's length, so all stems are equally
    long."""
    dur = atom_set.length_s if duration_s is None else duration_s
    groups = [int(g) for g in groups]
    stems: dict[int, np.ndarray] = {}
    for i, g in enumerate(groups):
        def sub(frac: float, i: int = i) -> None:
            if progress is not None:
                progress((i + frac) / len(groups))

        stems[g] = render_with_controls(group_subset(atom_set, g),
                                        effects=effects() if effects is not None else None,
                                        duration_s=dur, progress=sub, **kw)
    return stems


def stream_stems_to_files(atom_set: AtomSet, groups: Sequence[int],
                          folder: str | os.PathLike, *,
                          mix_path: str | os.PathLike | None = None,
                          effects: Callable[[], EffectsBridge | None] | None = None,
                          sample_rate: int | None = None, n_rooms: int | None = None,
                          duration_s: float | None = None, block: int = 256,
                          precision: str = "float32", suffix: str = ".wav",
                          subtype: str | None = None,
                          check: Callable[[np.ndarray, str], float] | None = None,
                          progress: Progress | None = None) -> tuple[float, int]:
    """What :func:`render_stems_with_controls` then :func:`write_stems` write (the same
    samples, no controls), streamed: one synthesizer (and ``effects()``) per group run side by
    side, each block written to its stem file and the sum of the stems to ``mix<suffix>`` in
    ``folder`` and to ``mix_path``. Memory is bounded by the block and the number of groups,
    not the length. Files appear only when all are complete (:func:`audio_writer`); ``check``
    (audio block, label) returns the block's peak or raises, which writes nothing.

    Returns
    -------
    peak : float
        Largest absolute sample of the mix (with ``check``; else 0).
    samples : int
        Frames written to each file.
    """
    from contextlib import ExitStack

    from atomsynth.rt.audio_io import audio_writer

    groups = [int(g) for g in groups]
    sr = int(sample_rate or atom_set.sample_rate)
    dur = atom_set.length_s if duration_s is None else float(duration_s)
    total = ceil_samples(dur, sr)
    lanes = []
    for g in groups:
        synth = StreamingSynth(group_subset(atom_set, g), sample_rate=sample_rate,
                               max_block=8192, n_rooms=n_rooms, precision=precision)
        Controls().apply(synth)
        fx = effects() if effects is not None else None
        lanes.append((g, synth, fx if fx is not None and fx.active else None))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ch = atom_set.channels
    peak = 0.0
    with ExitStack() as stack:
        def open_(path: str | os.PathLike) -> Callable[[np.ndarray], None]:
            return stack.enter_context(audio_writer(path, sr, ch, subtype=subtype))

        stem_writers = [open_(folder / stem_file_name(atom_set, g, suffix)) for g in groups]
        mix_writers = [open_(folder / f"mix{suffix}")]
        if mix_path is not None:
            mix_writers.append(open_(mix_path))
        for a in range(0, total, block):
            n = min(block, total - a)
            mix = None
            for (g, synth, fx), write in zip(lanes, stem_writers):
                buses = synth.render(n)
                y = np.array(fx.process(buses) if fx is not None else buses[0],
                             dtype=np.float64)
                if check is not None:
                    check(y, f"stem {g} at {a / sr:.3f} s")
                write(y)
                if mix is None:
                    mix = y.copy()
                else:
                    mix += y  # in group order, as the sum of the whole stems
            if mix is None:
                mix = np.zeros((ch, n))
            if check is not None:
                peak = max(peak, check(mix, f"the mix at {a / sr:.3f} s"))
            for write in mix_writers:
                write(mix)
            if progress is not None and (a // block) % 64 == 0:
                progress(a / max(total, 1))
    if progress is not None:
        progress(1.0)
    return peak, total


def stem_file_name(atom_set: AtomSet, group: int, suffix: str = ".wav") -> str:
    """``"03_strings.wav"``: the group number (two digits) and its name, reduced to letters,
    digits, ``_``, ``.`` and ``-``."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", atom_set.group_name(group)).strip("_") or "group"
    return f"{int(group):02d}_{slug}{suffix}"


def write_stems(folder: str | os.PathLike, stems: dict[int, np.ndarray], atom_set: AtomSet,
                sample_rate: int, *, suffix: str = ".wav", subtype: str | None = None,
                mix: np.ndarray | None = None) -> np.ndarray | None:
    """Write every stem (:func:`stem_file_name`) and ``mix<suffix>`` into ``folder`` (made if
    missing). The mix is ``mix`` if given, else the sum of the stems (None if there are no
    stems and no mix). Returns the mix."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    total = None
    for g, audio in stems.items():
        write_audio(folder / stem_file_name(atom_set, g, suffix), audio, sample_rate,
                    subtype=subtype)
        total = audio if total is None else total + audio
    if mix is None:
        mix = total
    if mix is not None:
        write_audio(folder / f"mix{suffix}", mix, sample_rate, subtype=subtype)
    return mix


__all__ = ["Controls", "group_subset", "render_stems_with_controls", "render_through",
           "render_with_controls", "stem_file_name", "stream_stems_to_files", "write_stems"]
