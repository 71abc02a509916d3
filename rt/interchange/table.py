"""Atoms as tables: CSV and JSON with one row per atom, one column per parameter.

Column names are the parameter names of :mod:`atomsynth.rt.params`, values are in their units
(``f0_hz`` in Hz, ``gain_db`` in dB, ...). Both families share one table: the column
``family`` says ``resonant`` or ``mdct``, and a row leaves the other family's columns empty
(``group`` belongs to both). Floats are written in their shortest exact form, so a round trip
is exact.

CSV: the first line is ``# atomsynth-header: {JSON}`` (sample rate, channels, mode tables,
group and room names: :mod:`~atomsynth.rt.interchange.header`), then the column names, then
the rows; pandas reads it with ``pd.read_csv(path, comment="#")``. JSON: an object
``{"format": "atomsynth-table", "version": 1, "header": {...}, "resonant": [row, ...],
"mdct": [row, ...]}`` where a row is ``{column: value}``; ``pd.DataFrame(doc["resonant"])``.

Reading validates every cell: a missing column takes its default, an unknown column, an empty
cell of the row's family, a non-number, NaN, a fraction in an integer column or a value out of
range raises :class:`~atomsynth.rt.errors.ParameterError` naming the row and the column.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from atomsynth.rt.atoms import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.interchange.header import header_dict, header_kwargs
from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS, ParamSpec

FORMAT = "atomsynth-table"
VERSION = 1
HEADER_PREFIX = "# atomsynth-header: "
FAMILIES: dict[str, tuple[type, tuple[ParamSpec, ...]]] = {
    "resonant": (ResonantAtoms, RESONANT_PARAMS),
    "mdct": (MdctAtoms, MDCT_PARAMS),
}
COLUMNS: tuple[str, ...] = ("family",) + tuple(dict.fromkeys(
    [s.name for s in RESONANT_PARAMS] + [s.name for s in MDCT_PARAMS]))
"""Every column of a table, in order: ``family``, the resonant parameters, the MDCT ones."""


def _cell(spec: ParamSpec, value: Any) -> Any:
    return int(value) if spec.is_integer else float(value)


def rows(atom_set: AtomSet) -> list[dict[str, Any]]:
    """One dict per atom (resonant atoms first), keyed by column name."""
    out = []
    for family, (_, specs) in FAMILIES.items():
        atoms = getattr(atom_set, family)
        cols = [(s, atoms[s.name].tolist()) for s in specs]
        for i in range(len(atoms)):
            row = {"family": family}
            row.update({s.name: _cell(s, v[i]) for s, v in cols})
            out.append(row)
    return out


def to_csv(atom_set: AtomSet) -> str:
    """The CSV text of ``atom_set`` (see module)."""
    buf = io.StringIO()
    buf.write(HEADER_PREFIX + json.dumps(header_dict(atom_set)) + "\n")
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows(atom_set):
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buf.getvalue()


def to_json(atom_set: AtomSet) -> str:
    """The JSON text of ``atom_set`` (see module)."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "header": header_dict(atom_set)}
    all_rows = rows(atom_set)
    for family in FAMILIES:
        doc[family] = [{k: v for k, v in r.items() if k != "family"}
                       for r in all_rows if r["family"] == family]
    return json.dumps(doc, indent=1)


# --------------------------------------------------------------------------------- reading
def _parse_value(spec: ParamSpec, raw: Any, where: str) -> float | int:
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise ParameterError(f"{where}: empty; allowed range {spec.range_text()}")
        try:
            value = float(text)
        except ValueError:
            raise ParameterError(f"{where}: {raw!r} is not a number") from None
    elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ParameterError(f"{where}: {raw!r} is not a number")
    else:
        value = raw
    if not math.isfinite(value):
        raise ParameterError(f"{where}: {raw!r} is not finite; allowed range {spec.range_text()}")
    if spec.is_integer:
        if float(value) != math.floor(value):
            raise ParameterError(f"{where}: {raw!r} is not an integer")
        value = int(value)
    if not spec.lo <= value <= spec.hi:
        raise ParameterError(f"{where}: {raw!r} is out of range; allowed {spec.range_text()}")
    return value


def _build(family: str, records: Sequence[tuple[str, Mapping[str, Any]]]):
    """A container from ``(row label, {column: raw})`` records of one family."""
    cls, specs = FAMILIES[family]
    known = {s.name for s in specs}
    columns: dict[str, list] = {}
    for s in specs:
        if any(s.name in rec for _, rec in records):
            columns[s.name] = []
    for label, rec in records:
        for name in rec:
            if name not in known:
                raise ParameterError(
                    f"{label}: unknown column {name!r} for a {family} atom; known: {sorted(known)}"
                )
        for s in specs:
            if s.name in columns:
                if s.name not in rec:
                    raise ParameterError(f"{label}, column {s.name}: missing")
                columns[s.name].append(_parse_value(s, rec[s.name], f"{label}, column {s.name}"))
    arrays = {k: np.array(v, dtype=next(s.dtype for s in specs if s.name == k))
              for k, v in columns.items()}
    try:
        return cls(len(records), **arrays)
    except ParameterError as exc:
        labels = ", ".join(f"atom {i} = {lab}" for i, (lab, _) in enumerate(records[:20]))
        raise ParameterError(f"{exc} ({family} {labels})") from None


def _assemble(header: Mapping[str, Any], records: Mapping[str, list], where: str) -> AtomSet:
    kwargs = header_kwargs(header, where)
    for family in FAMILIES:
        kwargs[family] = _build(family, records[family])
    try:
        return AtomSet(**kwargs)
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def from_csv(text: str, *, where: str = "CSV") -> AtomSet:
    """An atom set from CSV text (see module). ``where`` prefixes error messages."""
    lines = text.splitlines(keepends=True)
    header: Mapping[str, Any] = {}
    if lines and lines[0].startswith(HEADER_PREFIX):
        try:
            header = json.loads(lines[0][len(HEADER_PREFIX):])
        except json.JSONDecodeError as exc:
            raise ParameterError(f"{where}, line 1: bad header JSON: {exc}") from None
        first = 1
    else:
        first = 0
    reader = csv.reader(lines[first:])
    try:
        names = next(reader)
    except StopIteration:
        raise ParameterError(f"{where}: no column names") from None
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ParameterError(f"{where}: unknown column(s) {unknown}; known: {list(COLUMNS)}")
    if "family" not in names:
        raise ParameterError(f"{where}: no 'family' column (resonant or mdct)")
    records: dict[str, list] = {f: [] for f in FAMILIES}
    for row in reader:
        line = first + reader.line_num
        label = f"{where}, line {line}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            raise ParameterError(f"{label}: {len(row)} cells for {len(names)} columns")
        cells = dict(zip(names, row))
        family = cells.pop("family").strip()
        if family not in FAMILIES:
            raise ParameterError(f"{label}, column family: {family!r} is not resonant or mdct")
        specs = {s.name for s in FAMILIES[family][1]}
        for name, cell in cells.items():
            if name not in specs and cell.strip():
                raise ParameterError(
                    f"{label}, column {name}: {cell!r} given for a {family} atom, which has "
                    "no such parameter")
        records[family].append((label, {k: v for k, v in cells.items() if k in specs}))
    return _assemble(header, records, where)


def from_json(text: str, *, where: str = "JSON") -> AtomSet:
    """An atom set from JSON text (see module). ``where`` prefixes error messages."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{where}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ParameterError(f"{where}: not an atomsynth table (\"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise ParameterError(f"{where}: version {doc.get('version')!r}; this reads {VERSION}")
    unknown = sorted(set(doc) - {"format", "version", "header", *FAMILIES})
    if unknown:
        raise ParameterError(f"{where}: unknown field(s) {unknown}")
    records: dict[str, list] = {}
    for family in FAMILIES:
        items = doc.get(family, [])
        if not isinstance(items, list):
            raise ParameterError(f"{where}: {family} must be a list of rows")
        records[family] = []
        for i, item in enumerate(items):
            label = f"{where}, {family} row {i}"
            if not isinstance(item, dict):
                raise ParameterError(f"{label}: must be an object of column: value")
            records[family].append((label, item))
    return _assemble(doc.get("header", {}), records, where)


__all__ = ["COLUMNS", "from_csv", "from_json", "rows", "to_csv", "to_json"]
