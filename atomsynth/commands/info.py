"""``atomsynth info FILE``: what is in an atom file."""

from __future__ import annotations

import json

import numpy as np

from atomsynth.commands._common import add_file_argument, load_atoms
from atomsynth.rt.atomfile import to_bytes
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS


def add_arguments(parser) -> None:
    add_file_argument(parser)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def describe(atom_set: AtomSet, file_bytes: int | None = None) -> dict:
    """A summary of an atom set as a JSON-serializable dict."""
    duration = atom_set.length_s
    compact = len(to_bytes(atom_set, compact=True))
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
    }
    if file_bytes is not None:
        out["file_bytes"] = file_bytes
        out["file_bitrate_bps"] = file_bytes * 8 / duration if duration > 0 else None
    return out


def run(args) -> int:
    path, atom_set = load_atoms(args.file)
    info = describe(atom_set, path.stat().st_size)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    d = info["duration_s"]
    print(f"{path}")
    print(f"  {atom_set.sample_rate} Hz, {atom_set.channels} channel(s), {d:.3f} s")
    print(f"  atoms: {info['atoms']['resonant']} resonant, {info['atoms']['mdct']} MDCT"
          + (f" ({info['atoms_per_second']:.1f} per second)" if info["atoms_per_second"] else ""))
    if "file_bitrate_bps" in info and info["file_bitrate_bps"]:
        kbps = info["file_bitrate_bps"] / 1000
        print(f"  this file: {info['file_bytes']} bytes = {kbps:.2f} kbit/s")
    if info["compact_bitrate_bps"]:
        print(f"  compact:   {info['compact_bytes']} bytes = "
              f"{info['compact_bitrate_bps'] / 1000:.2f} kbit/s")
    print("  groups:")
    for g in info["groups"]:
        print(f"    {g['id']:>3}  {g['name']:<24} {g['resonant']:>6} resonant {g['mdct']:>7} MDCT")
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
