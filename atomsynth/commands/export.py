"""``atomsynth export FILE -o OUT``: atoms to SDIF, MIDI, CSV or JSON (``docs/interchange.md``)."""

from __future__ import annotations

from atomsynth.commands import _validate as v
from atomsynth.commands._common import add_file_argument, load_atoms
from atomsynth.rt.interchange.formats import FORMATS


def add_arguments(parser) -> None:
    add_file_argument(parser)
    parser.add_argument("-o", "--output", required=True,
                        help="output file: .sdif, .mid, .csv or .json")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="output format (default: from the output's suffix)")
    parser.add_argument("--tracks", action="store_true",
                        help="SDIF: also write 1TRC sinusoidal tracks (SPEAR, AudioSculpt), "
                             "MDCT atoms included")
    parser.add_argument("--no-resonances", action="store_true",
                        help="SDIF: leave out the 1RES resonance models")
    parser.add_argument("--standard-only", action="store_true",
                        help="SDIF: leave out atomsynth's extension frame (exact parameters)")
    parser.add_argument("--ppq", type=v.int_in(24, 32767), default=None,
                        help="MIDI: ticks per quarter note (default 960, at 120 bpm)")


def run(args) -> int:
    from atomsynth.rt.interchange.formats import export_file, format_of

    fmt = format_of(args.output, args.format)
    v.output_file(args.output)
    path, atom_set = load_atoms(args.file)
    size = export_file(atom_set, args.output, fmt, tracks=args.tracks,
                       resonances=not args.no_resonances, atom_params=not args.standard_only,
                       ppq=args.ppq)
    print(f"wrote {args.output} ({fmt}, {size} bytes): {len(atom_set.resonant)} resonant and "
          f"{len(atom_set.mdct)} MDCT atoms from {path}")
    return 0
