"""The document the app edits: one :class:`AtomSet`, its file, its selection and its undo stack.

Atom containers are immutable, so every edit builds a new :class:`AtomSet` and pushes a
:class:`ReplaceCommand` holding the set (and the selection) before and after it onto a
:class:`QUndoStack`. Undo and redo swap whole sets: exact, and cheap even for 100,000 atoms
(columns are shared NumPy arrays). The selection is a pair of sorted index arrays, one per
family (``resonant`` and ``mdct``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from atomsynth.rt.atomfile import load, save
from atomsynth.rt.atoms import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS
from atomsynth.rt.presets import apply_preset

_SPEC = {
    "resonant": {s.name: s for s in RESONANT_PARAMS},
    "mdct": {s.name: s for s in MDCT_PARAMS},
}
FAMILIES = ("resonant", "mdct")


def _idx(values) -> np.ndarray:
    return np.unique(np.asarray(values, dtype=np.int64).ravel())


@dataclass(frozen=True)
class Selection:
    """Selected atoms: sorted unique indices per family, int64 arrays."""

    resonant: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    mdct: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def of(cls, resonant=(), mdct=()) -> Selection:
        return cls(_idx(resonant), _idx(mdct))

    def __len__(self) -> int:
        return int(self.resonant.size + self.mdct.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Selection):
            return NotImplemented
        return np.array_equal(self.resonant, other.resonant) and np.array_equal(
            self.mdct, other.mdct)

    __hash__ = None  # type: ignore[assignment]

    def family(self, name: str) -> np.ndarray:
        return self.resonant if name == "resonant" else self.mdct

    def clipped(self, atom_set: AtomSet) -> Selection:
        """The selection without indices beyond the set's atoms."""
        return Selection(self.resonant[self.resonant < len(atom_set.resonant)],
                         self.mdct[self.mdct < len(atom_set.mdct)])


class ReplaceCommand(QUndoCommand):
    """One undoable edit: the atom set and selection before and after it."""

    def __init__(self, doc: AtomDocument, before: AtomSet, after: AtomSet,
                 sel_before: Selection, sel_after: Selection, text: str) -> None:
        super().__init__(text)
        self._doc = doc
        self._before, self._after = before, after
        self._sel_before, self._sel_after = sel_before, sel_after

    def redo(self) -> None:
        self._doc._install(self._after, self._sel_after)

    def undo(self) -> None:
        self._doc._install(self._before, self._sel_before)


class AtomDocument(QObject):
    """An atom set being edited.

    Signals
    -------
    changed(str)
        The atom set changed (an edit, undo, redo or a new file); the argument says what.
    selection_changed()
        The selection changed.
    file_changed()
        The path or the saved state changed (for the window title).
    """

    changed = Signal(str)
    selection_changed = Signal()
    file_changed = Signal()

    def __init__(self, atom_set: AtomSet | None = None, *, path: str | os.PathLike | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._atom_set = atom_set if atom_set is not None else AtomSet()
        self._selection = Selection()
        self.path: Path | None = Path(path) if path is not None else None
        self.undo_stack = QUndoStack(self)
        # A bound method, not a lambda: Qt drops the connection when the document goes, so
        # the stack's last cleanChanged at teardown cannot reach a deleted signal source.
        self.undo_stack.cleanChanged.connect(self._clean_changed)

    def _clean_changed(self, _clean: bool) -> None:
        self.file_changed.emit()

    # -- state ----------------------------------------------------------------------------
    @property
    def atom_set(self) -> AtomSet:
        return self._atom_set

    @property
    def selection(self) -> Selection:
        return self._selection

    @property
    def dirty(self) -> bool:
        """True when there are edits since the last load or save."""
        return not self.undo_stack.isClean()

    @property
    def title(self) -> str:
        name = self.path.name if self.path else "untitled"
        return f"{name}{' *' if self.dirty else ''}"

    def _install(self, atom_set: AtomSet, selection: Selection) -> None:
        self._atom_set = atom_set
        self._selection = selection.clipped(atom_set)
        self.changed.emit("edit")
        self.selection_changed.emit()

    # -- files ----------------------------------------------------------------------------
    def reset(self, atom_set: AtomSet, path: str | os.PathLike | None = None) -> None:
        """Replace the whole document (new file): clears the undo history and the selection."""
        self._atom_set = atom_set
        self._selection = Selection()
        self.path = Path(path) if path is not None else None
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.changed.emit("reset")
        self.selection_changed.emit()
        self.file_changed.emit()

    def open(self, path: str | os.PathLike) -> None:
        """Load an ``.atoms`` file (raises :class:`AtomFileError` on a bad file)."""
        self.reset(load(path), path)

    def save(self, path: str | os.PathLike | None = None, *, compact: bool = False) -> Path:
        """Write the set (atomically) to ``path`` or the current path; marks it saved."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ParameterError("save: the document has no file name yet; use save as")
        save(self._atom_set, target, compact=compact)
        self.path = target
        self.undo_stack.setClean()
        self.file_changed.emit()
        return target

    # -- selection ------------------------------------------------------------------------
    def select(self, selection: Selection) -> None:
        selection = selection.clipped(self._atom_set)
        if selection != self._selection:
            self._selection = selection
            self.selection_changed.emit()

    def select_all(self) -> None:
        self.select(Selection.of(np.arange(len(self._atom_set.resonant)),
                                 np.arange(len(self._atom_set.mdct))))

    def select_group(self, group: int, *, add: bool = False) -> None:
        s = self._atom_set
        sel = Selection.of(np.flatnonzero(s.resonant.group == group),
                           np.flatnonzero(s.mdct.group == group))
        if add:
            sel = Selection.of(np.r_[self._selection.resonant, sel.resonant],
                               np.r_[self._selection.mdct, sel.mdct])
        self.select(sel)

    # -- edits ----------------------------------------------------------------------------
    def apply(self, after: AtomSet, text: str, selection: Selection | None = None) -> None:
        """Push an edit that replaces the set with ``after`` (undoable)."""
        sel_after = self._selection if selection is None else selection
        self.undo_stack.push(ReplaceCommand(self, self._atom_set, after, self._selection,
                                            sel_after, text))

    def set_params(self, family: str, indices, **values) -> None:
        """Set parameters of the atoms ``indices`` of ``family`` (validated, undoable).

        Values outside a parameter's range raise :class:`ParameterError` naming it.
        """
        if family not in FAMILIES:
            raise ParameterError(f"family = {family!r}; allowed {FAMILIES}")
        idx = _idx(indices)
        if not idx.size or not values:
            return
        for name, v in values.items():
            spec = _SPEC[family].get(name)
            if spec is None:
                raise ParameterError(f"{family} atoms have no parameter {name!r}")
            arr = np.asarray(v, dtype=np.float64)
            if not np.all(np.isfinite(arr)) or np.any(arr < spec.lo) or np.any(arr > spec.hi):
                raise ParameterError(f"{name} = {v!r} is out of range; allowed "
                                     f"{spec.range_text()}")
        s = self._atom_set
        atoms = getattr(s, family)
        new = atoms.with_columns(idx, **values)
        after = s.replace(**{family: new})
        names = ", ".join(values)
        self.apply(after, f"set {names} of {idx.size} {family} atom(s)")

    def move_selection(self, dt_s: float, ratio: float) -> None:
        """Move the selected atoms by ``dt_s`` seconds and by the frequency ratio ``ratio``.

        Resonant atoms: ``onset_s += dt_s`` and ``f0_hz *= ratio`` (and ``noise_hz``), clipped to
        their ranges. MDCT atoms: whole frames and bins (the nearest ones).
        """
        sel = self._selection
        if not len(sel) or (dt_s == 0 and ratio == 1):
            return
        if not np.isfinite(dt_s) or not np.isfinite(ratio) or ratio <= 0:
            raise ParameterError(f"move: dt_s = {dt_s!r}, ratio = {ratio!r}; need finite values "
                                 "and ratio > 0")
        s = self._atom_set
        res, md = s.resonant, s.mdct
        if sel.resonant.size:
            i = sel.resonant
            sp = _SPEC["resonant"]
            res = res.with_columns(
                i,
                onset_s=np.clip(res.onset_s[i] + dt_s, sp["onset_s"].lo, sp["onset_s"].hi),
                f0_hz=np.clip(res.f0_hz[i] * ratio, sp["f0_hz"].lo,
                              min(sp["f0_hz"].hi, s.sample_rate / 2)),
                noise_hz=np.clip(res.noise_hz[i] * ratio, sp["noise_hz"].lo, sp["noise_hz"].hi),
            )
        if sel.mdct.size:
            i = sel.mdct
            hop = md.scale[i].astype(np.int64) // 2
            frames = md.frame[i] + np.round(dt_s * s.sample_rate / hop).astype(np.int64)
            bins = np.round((md.bin[i] + 0.5) * ratio - 0.5).astype(np.int64)
            md = md.with_columns(i, frame=np.clip(frames, 0, 2**31 - 1),
                                 bin=np.clip(bins, 0, hop - 1))
        semis = 12 * np.log2(ratio)
        self.apply(s.replace(resonant=res, mdct=md),
                   f"move {len(sel)} atom(s) by {dt_s:+.3f} s, {semis:+.2f} semitones")

    def delete_selection(self) -> None:
        sel = self._selection
        if not len(sel):
            return
        s = self._atom_set
        keep_r = np.ones(len(s.resonant), bool)
        keep_r[sel.resonant] = False
        keep_m = np.ones(len(s.mdct), bool)
        keep_m[sel.mdct] = False
        after = s.replace(resonant=s.resonant.select(keep_r), mdct=s.mdct.select(keep_m))
        self.apply(after, f"delete {len(sel)} atom(s)", Selection())

    def duplicate_selection(self, *, dt_s: float = 0.0) -> None:
        """Append copies of the selected atoms, shifted by ``dt_s``; the copies become selected."""
        sel = self._selection
        if not len(sel):
            return
        s = self._atom_set
        nr, nm = len(s.resonant), len(s.mdct)
        res_copy = s.resonant.select(sel.resonant)
        if dt_s:
            res_copy = res_copy.with_columns(onset_s=np.maximum(res_copy.onset_s + dt_s, 0.0))
        md_copy = s.mdct.select(sel.mdct)
        if dt_s and len(md_copy):
            hop = md_copy.scale.astype(np.int64) // 2
            md_copy = md_copy.with_columns(frame=np.maximum(
                md_copy.frame + np.round(dt_s * s.sample_rate / hop).astype(np.int64), 0))
        after = s.replace(resonant=ResonantAtoms.concat([s.resonant, res_copy]),
                          mdct=MdctAtoms.concat([s.mdct, md_copy]))
        new_sel = Selection.of(np.arange(nr, nr + len(res_copy)), np.arange(nm, nm + len(md_copy)))
        self.apply(after, f"duplicate {len(sel)} atom(s)", new_sel)

    def regroup_selection(self, group: int, *, name: str | None = None) -> None:
        """Move the selected atoms into ``group`` (optionally naming it)."""
        spec = _SPEC["resonant"]["group"]
        if not isinstance(group, (int, np.integer)) or not spec.lo <= group <= spec.hi:
            raise ParameterError(f"group = {group!r} is out of range; allowed {spec.range_text()}")
        sel = self._selection
        if not len(sel):
            return
        s = self._atom_set
        after = s.replace(resonant=s.resonant.with_columns(sel.resonant, group=int(group)),
                          mdct=s.mdct.with_columns(sel.mdct, group=int(group)))
        if name:
            names = list(after.group_names)
            while len(names) <= group:
                names.append(f"group {len(names)}")
            names[group] = name
            after = after.replace(group_names=tuple(names))
        self.apply(after, f"move {len(sel)} atom(s) to group {group}")

    def apply_preset_to_selection(self, preset) -> None:
        """Give the selected resonant atoms a resonance preset (name, path or ModeTable)."""
        sel = self._selection
        if not sel.resonant.size:
            raise ParameterError("apply preset: no resonant atoms are selected")
        after = apply_preset(self._atom_set, preset, sel.resonant)
        label = getattr(preset, "name", str(preset))
        self.apply(after, f"apply preset {label} to {sel.resonant.size} atom(s)")

    def set_room(self, room_name: str, wet: float, *, all_atoms: bool = False) -> None:
        """Send the selected (or all) resonant atoms to room ``room_name`` at ``wet``.

        The room is added to the set's ``room_names`` when new; ``""`` makes the atoms dry.
        """
        if not 0.0 <= wet <= 1.0:
            raise ParameterError(f"wet = {wet!r} is out of range; allowed [0.0, 1.0]")
        s = self._atom_set
        idx = np.arange(len(s.resonant)) if all_atoms else self._selection.resonant
        if not idx.size:
            raise ParameterError("room: no resonant atoms are selected")
        names = list(s.room_names)
        if room_name:
            if room_name not in names:
                names.append(room_name)
            r, w = names.index(room_name), float(wet)
        else:
            r, w = -1, 0.0
        after = s.replace(room_names=tuple(names))
        after = after.replace(resonant=after.resonant.with_columns(idx, room=r, wet=w))
        where = room_name or "dry"
        self.apply(after, f"send {idx.size} atom(s) to {where}")

    def rename_group(self, group: int, name: str) -> None:
        names = list(self._atom_set.group_names)
        while len(names) <= group:
            names.append(f"group {len(names)}")
        names[group] = name
        self.apply(self._atom_set.replace(group_names=tuple(names)), f"rename group {group}")
