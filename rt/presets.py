"""Resonance presets: JSON mode tables in ``presets/resonances/``, loaded with validation.

A preset file holds ``name``, ``description``, ``source`` (where the numbers come from),
``family`` and three equal-length lists ``ratios``, ``gains`` and ``decays`` (see
:class:`atomsynth.rt.modes.ModeTable`). :func:`apply_preset` gives a selection of atoms a
preset's modes.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import ParameterError, PresetError
from atomsynth.rt.modes import ModeTable

MAX_PRESET_BYTES = 1 << 20


def data_dir() -> Path:
    """The bundled ``presets/`` folder (resonances, examples, rooms)."""
    return Path(str(resources.files("atomsynth.presets")))


def resonance_dir() -> Path:
    return data_dir() / "resonances"


def load_mode_table(path: str | os.PathLike) -> ModeTable:
    """Read one preset file; any problem raises :class:`PresetError` naming the file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_PRESET_BYTES:
            raise PresetError(f"{path}: larger than {MAX_PRESET_BYTES} bytes")
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PresetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise PresetError(f"{path}: top level must be an object")
    missing = [k for k in ("name", "ratios", "gains", "decays") if k not in doc]
    if missing:
        raise PresetError(f"{path}: missing field(s) {missing}")
    try:
        return ModeTable(
            name=doc["name"],
            ratios=doc["ratios"],
            gains=doc["gains"],
            decays=doc["decays"],
            description=doc.get("description", ""),
            source=doc.get("source", ""),
            family=doc.get("family", ""),
        )
    except PresetError as exc:
        raise PresetError(f"{path}: {exc}") from None


def available_presets() -> dict[str, Path]:
    """Bundled presets by name, sorted."""
    return {p.stem: p for p in sorted(resonance_dir().glob("*.json"))}


def get_preset(name_or_path: str | os.PathLike) -> ModeTable:
    """A bundled preset by name, or a preset file by path."""
    presets = available_presets()
    key = str(name_or_path)
    if key in presets:
        return load_mode_table(presets[key])
    path = Path(key)
    if path.suffix == ".json" and path.exists():
        return load_mode_table(path)
    raise PresetError(f"unknown preset {key!r}; bundled presets: {', '.join(presets) or 'none'}")


def add_mode_table(atom_set: AtomSet, table: ModeTable) -> tuple[AtomSet, int]:
    """The set with ``table`` among its mode tables, and the table's index (reused if equal)."""
    for i, t in enumerate(atom_set.mode_tables):
        if t == table:
            return atom_set, i
    return atom_set.replace(mode_tables=atom_set.mode_tables + (table,)), len(atom_set.mode_tables)


def apply_preset(atom_set: AtomSet, table: ModeTable | str, index: Any = None) -> AtomSet:
    """Give the resonant atoms at ``index`` (default all) the preset's modes.

    The atoms keep their fundamental, decay and gain; they take all of the table's modes
    (``n_modes = len(table)``) with the table's own gains and decays (``brightness = 1``,
    ``damping = 0``), so the preset sounds as written.
    """
    if isinstance(table, (str, os.PathLike)):
        table = get_preset(table)
    atom_set, t = add_mode_table(atom_set, table)
    n = len(atom_set.resonant)
    sel = np.zeros(n, dtype=bool)
    try:
        sel[slice(None) if index is None else index] = True
    except IndexError as exc:
        raise ParameterError(f"atom selection {index!r} is out of range for {n} atoms") from exc
    res = atom_set.resonant.with_columns(
        sel, preset=t, n_modes=len(table), brightness=1.0, damping=0.0
    )
    return atom_set.replace(resonant=res)
