"""``atomsynth info FILE``: what is in an atom file."""

from __future__ import annotations

import json

import numpy as np

from atomsynth.commands._common import add_file_argument
from atomsynth.rt.atomfile import FileSummary, load, read_summary, to_bytes
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.examples import resolve_atoms_path
from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS


def add_arguments(parser) -> None:
    add_file_argument(parser)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--full", action="store_true",
                        help="decode every atom (per-group counts, parameter ranges, the "
                             "compact size of an exact file) even when the file has more than "
                             f"{FULL_MAX_ATOMS:,} atoms")


FULL_MAX_ATOMS = 20_000
"""Files with more atoms are described from their header alone unless ``--full`` is given."""


def describe(atom_set: AtomSet, file_bytes: int | None = None,
             compact_bytes: int | None = None) -> dict:
    """A summary of an atom set as a JSON-serializable dict. ``compact_bytes``: the size of
    its compact file when known (the file is compact); else it is encoded to measure it."""
    duration = atom_set.length_s
    compact = len(to_bytes(atom_set, compact=True)) if compact_bytes is None else compact_bytes
    groups = []
    for g in atom_set.groups:
        groups.append({
            "id": int(g), "name": atom_set.group_name(int(g)),
            "resonant": int((atom_set.resonant.group == g).sum()),
            "mdct": int((atom_set.mdct.group == g).sum()),
        })
    ranges = {}
    for fam, specs in (("resonant", RESONANT_PARAMS), ("mdct", MDCT_PARAMS)):
        atoms = getattr(atom_set, fam)
        if len(atoms):
            ranges[fam] = {s.name: [float(np.min(atoms[s.name])), float(np.max(atoms[s.name])),
                                    s.unit] for s in specs}
    out = {
        "sample_rate": atom_set.sample_rate,
        "channels": atom_set.channels,
        "duration_s": duration,
        "atoms": {"resonant": len(atom_set.resonant), "mdct": len(atom_set.mdct)},
        "atoms_per_second": atom_set.n_atoms / duration if duration > 0 else None,
        "groups": groups,
        "rooms": list(atom_set.room_names),
        "mode_tables": [t.name for t in atom_set.mode_tables],
        "compact_bytes": compact,
        "compact_bitrate_bps": compact * 8 / duration if duration > 0 else None,
        "provenance": dict(atom_set.provenance),
        "ranges": ranges,
        "decoded": True,
    }
    if file_bytes is not None:
        out["file_bytes"] = file_bytes
        out["file_bitrate_bps"] = file_bytes * 8 / duration if duration > 0 else None
    return out


def describe_summary(summary: FileSummary) -> dict:
    """What :func:`describe` gives, from the header alone (no atom decoded): group names
    without their counts, no parameter ranges, the compact size only for a compact file.
    Work and memory are bounded by the header, whatever the number of atoms."""
    head = summary.header
    duration = head.duration_s
    per_s = duration is not None and duration > 0
    compact = summary.file_bytes if summary.mode == "compact" else None
    return {
        "sample_rate": head.sample_rate,
        "channels": head.channels,
        "duration_s": duration,
        "atoms": dict(summary.counts),
        "atoms_per_second": summary.n_atoms / duration if per_s else None,
        "groups": [{"id": i, "name": n} for i, n in enumerate(head.group_names)],
        "rooms": list(head.room_names),
        "mode_tables": [t.name for t in head.mode_tables],
        "compact_bytes": compact,
        "compact_bitrate_bps": compact * 8 / duration if per_s and compact else None,
        "provenance": dict(head.provenance),
        "ranges": {},
        "decoded": False,
        "file_bytes": summary.file_bytes,
        "file_bitrate_bps": summary.file_bytes * 8 / duration if per_s else None,
    }


def describe_file(path, *, full: bool = False) -> dict:
    """:func:`describe` of the file's atoms when it has at most :data:`FULL_MAX_ATOMS` atoms
    (or ``full``), else :func:`describe_summary` of its header."""
    summary = read_summary(path)
    if not full and summary.n_atoms > FULL_MAX_ATOMS:
        return describe_summary(summary)
    return describe(load(path), summary.file_bytes,
                    summary.file_bytes if summary.mode == "compact" else None)


def run(args) -> int:
    path = resolve_atoms_path(args.file)
    info = describe_file(path, full=args.full)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    d = info["duration_s"]
    print(f"{path}")
    print(f"  {info['sample_rate']} Hz, {info['channels']} channel(s), "
          + (f"{d:.3f} s" if d is not None else "duration not recorded"))
    print(f"  atoms: {info['atoms']['resonant']} resonant, {info['atoms']['mdct']} MDCT"
          + (f" ({info['atoms_per_second']:.1f} per second)" if info["atoms_per_second"] else ""))
    if "file_bitrate_bps" in info and info["file_bitrate_bps"]:
        kbps = info["file_bitrate_bps"] / 1000
        print(f"  this file: {info['file_bytes']} bytes = {kbps:.2f} kbit/s")
    if info["compact_bitrate_bps"]:
        print(f"  compact:   {info['compact_bytes']} bytes = "
              f"{info['compact_bitrate_bps'] / 1000:.2f} kbit/s")
    if not info["decoded"]:
        print(f"  (read from the header: more than {FULL_MAX_ATOMS:,} atoms; --full decodes "
              "them for per-group counts and parameter ranges)")
    print("  groups:" if info["decoded"] else "  group names:")
    for g in info["groups"]:
        counts = (f" {g['resonant']:>6} resonant {g['mdct']:>7} MDCT" if info["decoded"]
                  else "")
        print(f"    {g['id']:>3}  {g['name']:<24}{counts}")
    if info["mode_tables"]:
        print(f"  resonance presets: {', '.join(info['mode_tables'])}")
    if info["rooms"]:
        print(f"  rooms: {', '.join(info['rooms'])}")
    if info["provenance"]:
        print(f"  provenance: {json.dumps(info['provenance'])}")
    for fam, cols in info["ranges"].items():
        print(f"  {fam} parameter ranges:")
        for name, (lo, hi, unit) in cols.items():
            print(f"    {name:<14} {lo:>12.6g} .. {hi:<12.6g} {unit}")
    return 0
