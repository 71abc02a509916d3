"""``atomsynth import IN -o OUT.atoms``: atoms from SDIF, MIDI, CSV or JSON."""

from __future__ import annotations

from atomsynth.commands import _validate as v
from atomsynth.rt.interchange.formats import FORMATS


def add_arguments(parser) -> None:
    parser.add_argument("input", help="a .sdif, .mid, .csv or .json file")
    parser.add_argument("-o", "--output", required=True, help="the atom file to write (.atoms)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="input format (default: from the input's suffix)")
    parser.add_argument("--standard-only", action="store_true",
                        help="SDIF: build atoms from 1RES and 1TRC frames even when the file "
                             "holds atomsynth's exact parameters")
    parser.add_argument("--sample-rate", type=v.sample_rate, default=48000,
                        help="MIDI: sample rate of the new set (default 48000)")
    parser.add_argument("--compact", action="store_true", help="write a compact (lossy) file")


def run(args) -> int:
    from atomsynth.rt.atomfile import save
    from atomsynth.rt.interchange.formats import import_file

    v.output_file(args.output)
    atom_set = import_file(args.input, args.format, use_atom_params=not args.standard_only,
                           sample_rate=args.sample_rate)
    size = save(atom_set, args.output, compact=args.compact)
    print(f"wrote {args.output} ({size} bytes): {len(atom_set.resonant)} resonant and "
          f"{len(atom_set.mdct)} MDCT atoms, {len(atom_set.mode_tables)} mode table(s) from "
          f"{args.input}")
    return 0
