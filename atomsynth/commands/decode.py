"""``atomsynth decode IN.atoms -o OUT.wav``: render an encoded file at its own rate and length
(the reference renderer; ``atomsynth render`` offers the streaming path and effects)."""

from __future__ import annotations

from atomsynth.commands import _validate as v
from atomsynth.rt.atomfile import load
from atomsynth.rt.audio_io import write_audio


def add_arguments(parser) -> None:
    parser.add_argument("input", help="atom file (.atoms)")
    parser.add_argument("-o", "--output", required=True, help="audio file to write (.wav, .flac)")
    parser.add_argument("--sample-rate", type=v.sample_rate, default=None,
                        help="output rate in Hz (default: the file's)")
    parser.add_argument("--subtype", type=v.subtype, default=None,
                        help="soundfile subtype (default FLOAT for WAV, PCM_24 for FLAC)")


def run(args) -> int:
    from atomsynth.rt.reference import render

    v.output_file(args.output)
    v.check_subtype(args.output, args.subtype)
    atom_set = load(args.input)
    sr = int(args.sample_rate or atom_set.sample_rate)
    y = render(atom_set, sample_rate=sr, duration_s=atom_set.duration_s)
    v.check_audio(y, "the decoded audio")
    write_audio(args.output, y, sr, subtype=args.subtype)
    print(f"wrote {args.output}: {y.shape[0]} channel(s), {y.shape[1]} samples at {sr} Hz "
          f"from {len(atom_set.mdct)} MDCT + {len(atom_set.resonant)} resonant atoms")
    return 0
