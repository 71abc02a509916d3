"""The header of an atom set (everything but the atoms) as a JSON-serializable dict.

Tables, SDIF and JSON exports carry it so that a round trip through them restores the set
exactly: sample rate, channels, duration, mode tables, group and room names, provenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import ParameterError, PresetError
from atomsynth.rt.modes import ModeTable

_KEYS = ("sample_rate", "channels", "duration_s", "mode_tables", "group_names", "room_names",
         "provenance")


def header_dict(atom_set: AtomSet) -> dict[str, Any]:
    """The set's header as a dict of JSON values."""
    return {
        "sample_rate": atom_set.sample_rate,
        "channels": atom_set.channels,
        "duration_s": atom_set.duration_s,
        "mode_tables": [t.to_json_dict() for t in atom_set.mode_tables],
        "group_names": list(atom_set.group_names),
        "room_names": list(atom_set.room_names),
        "provenance": dict(atom_set.provenance),
    }


def header_kwargs(doc: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Keyword arguments of :class:`AtomSet` from a header dict (unknown keys are an error)."""
    if not isinstance(doc, Mapping):
        raise ParameterError(f"{where}: the header must be a JSON object")
    unknown = sorted(set(doc) - set(_KEYS))
    if unknown:
        raise ParameterError(f"{where}: unknown header field(s) {unknown}; known: {list(_KEYS)}")
    out = {k: doc[k] for k in _KEYS if k in doc and k != "mode_tables"}
    tables = doc.get("mode_tables", [])
    if not isinstance(tables, list):
        raise ParameterError(f"{where}: mode_tables must be a list")
    try:
        out["mode_tables"] = tuple(ModeTable(**t) for t in tables)
    except (TypeError, PresetError) as exc:
        raise ParameterError(f"{where}: bad mode table: {exc}") from None
    for key in ("group_names", "room_names"):
        if key in out:
            if not isinstance(out[key], list):
                raise ParameterError(f"{where}: {key} must be a list of strings")
            out[key] = tuple(out[key])
    return out
