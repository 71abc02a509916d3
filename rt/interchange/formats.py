"""Choosing an interchange format by name or file suffix, and writing or reading a file in it.

Formats: ``sdif`` (``.sdif``), ``mid`` (``.mid``, ``.midi``), ``csv`` (``.csv``),
``json`` (``.json``). Files are written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

from atomsynth.rt.atomic import write_bytes_atomic
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import AtomFileError, ParameterError

FORMATS = ("sdif", "mid", "csv", "json")
SUFFIXES = {".sdif": "sdif", ".mid": "mid", ".midi": "mid", ".csv": "csv", ".json": "json"}
MAX_BYTES = 1 << 30


def format_of(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``fmt`` if given (checked), else the format of ``path``'s suffix."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ParameterError(f"format {fmt!r} is unknown; known: {list(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ParameterError(f"{path}: cannot tell the format from the suffix {suffix!r}; "
                             f"use one of {sorted(SUFFIXES)} or give --format {'|'.join(FORMATS)}")
    return SUFFIXES[suffix]


def export_bytes(atom_set: AtomSet, fmt: str, *, tracks: bool = False,
                 resonances: bool = True, atom_params: bool = True,
                 ppq: int | None = None) -> bytes:
    """The bytes of ``atom_set`` in format ``fmt`` (the options apply to SDIF and MIDI)."""
    fmt = format_of("", fmt)
    if fmt == "sdif":
        from atomsynth.rt.interchange.sdif_atoms import to_sdif

        return to_sdif(atom_set, tracks=tracks, resonances=resonances, atom_params=atom_params)
    if fmt == "mid":
        from atomsynth.rt.interchange.midi import PPQ, to_midi

        return to_midi(atom_set, ppq=ppq or PPQ)
    from atomsynth.rt.interchange import table

    text = table.to_csv(atom_set) if fmt == "csv" else table.to_json(atom_set)
    return text.encode("utf-8")


def export_file(atom_set: AtomSet, path: str | os.PathLike, fmt: str | None = None,
                **options) -> int:
    """Write ``atom_set`` to ``path`` (format from ``fmt`` or the suffix); returns bytes written."""
    data = export_bytes(atom_set, format_of(path, fmt), **options)
    write_bytes_atomic(path, data)
    return len(data)


def import_file(path: str | os.PathLike, fmt: str | None = None, *,
                use_atom_params: bool = True, sample_rate: int = 48000) -> AtomSet:
    """Read an atom set from ``path`` (format from ``fmt`` or the suffix).

    ``use_atom_params`` (SDIF) reads atomsynth's extension frame when there is one;
    ``sample_rate`` (MIDI) is the rate of the new set.
    """
    fmt = format_of(path, fmt)
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise AtomFileError(f"{path}: {size} bytes, more than the {MAX_BYTES} allowed")
        data = path.read_bytes()
    except OSError as exc:
        raise AtomFileError(f"{path}: {exc.strerror or exc}") from None
    where = str(path)
    if fmt == "sdif":
        from atomsynth.rt.interchange.sdif_atoms import from_sdif

        return from_sdif(data, use_atom_params=use_atom_params, where=where)
    if fmt == "mid":
        from atomsynth.rt.interchange.midi import from_midi

        return from_midi(data, sample_rate=sample_rate, where=where)
    from atomsynth.rt.interchange import table

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{where}: not UTF-8 text: {exc}") from None
    return table.from_csv(text, where=where) if fmt == "csv" else table.from_json(text, where=where)


__all__ = ["FORMATS", "SUFFIXES", "export_bytes", "export_file", "format_of", "import_file"]
