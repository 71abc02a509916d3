"""``atomsynth presets``: list, show and apply resonance presets."""

from __future__ import annotations

from pathlib import Path

from atomsynth.commands import _validate as v
from atomsynth.commands._common import load_atoms
from atomsynth.rt.atomfile import save
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.presets import apply_preset, available_presets, get_preset, load_mode_table


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="list the bundled presets (the default)")
    show = sub.add_parser("show", help="print a preset's modes")
    show.add_argument("name", help="preset name or .json path")
    apply = sub.add_parser("apply", help="give atoms of a file a preset's modes")
    apply.add_argument("name", help="preset name or .json path")
    apply.add_argument("file", help="atom file or bundled example name")
    apply.add_argument("-o", "--output", required=True, help="atom file to write")
    apply.add_argument("--group", type=v.int_in(0, 65535), action="append",
                       help="only atoms of this group (repeatable)")
    apply.add_argument("--atoms", default=None,
                       help="only these resonant atom indices, e.g. 0,3,10-20")


def parse_indices(text: str, n: int) -> list[int]:
    """``"0,3,10-20"`` -> sorted indices, each checked against ``n`` atoms."""
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
            elif part:
                a = b = int(part)
            else:
                continue
        except ValueError:
            raise ParameterError(f"--atoms: {part!r} is not an index or a range a-b") from None
        for i in (a, b):  # checked before the range is expanded: a-b costs at most n steps
            if not 0 <= i < n:
                raise ParameterError(f"--atoms: index {i} outside [0, {n - 1}]")
        if a > b:
            raise ParameterError(f"--atoms: range {part!r} is empty (start after end)")
        out.update(range(a, b + 1))
    return sorted(out)


def run(args) -> int:
    action = args.action or "list"
    if action == "list":
        for name, path in available_presets().items():
            t = load_mode_table(path)
            print(f"{name:<20} {t.family:<9} {len(t):>2} modes  ratios "
                  f"{', '.join(f'{r:.3g}' for r in t.ratios[:5])}{'...' if len(t) > 5 else ''}"
                  f"  {t.description}")
        return 0
    if action == "show":
        t = get_preset(args.name)
        print(f"{t.name} ({t.family}): {t.description}\nsource: {t.source}")
        print(f"{'mode':>4} {'ratio':>10} {'gain':>8} {'decay':>8}")
        for i, (r, g, d) in enumerate(zip(t.ratios, t.gains, t.decays), 1):
            print(f"{i:>4} {r:>10.4f} {g:>8.4f} {d:>8.4f}")
        return 0
    v.output_file(args.output)
    path, atom_set = load_atoms(args.file)
    import numpy as np

    sel = np.ones(len(atom_set.resonant), dtype=bool)
    if args.group:
        sel &= np.isin(atom_set.resonant.group, args.group)
    if args.atoms:
        mask = np.zeros_like(sel)
        mask[parse_indices(args.atoms, len(sel))] = True
        sel &= mask
    if args.group:
        missing = sorted(set(args.group) - {int(g) for g in atom_set.resonant.group})
        if missing:
            have = sorted({int(g) for g in atom_set.resonant.group})
            raise ParameterError(f"--group {missing[0]}: {path} has no resonant atom in that "
                                 f"group (its groups: {have})")
    if not sel.any():
        raise ParameterError("the selection (--group, --atoms) holds no resonant atom; "
                             "nothing to apply")
    result = apply_preset(atom_set, get_preset(args.name), sel)
    save(result, Path(args.output))
    print(f"applied {args.name} to {int(sel.sum())} atom(s) of {path}; wrote {args.output}")
    return 0
