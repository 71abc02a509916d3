"""``atomsynth encode IN -o OUT.atoms --kbps K``: the codec's encoder (compact atom file).

Spends a byte budget (every byte of the file counted) on full-band MDCT atoms chosen by a
masking model, stereo coded as L/R or mid/side; see :mod:`atomsynth.offline.encoder` and
``docs/codec.md``. A budget too small for the clip writes the most important atoms that fit a
minimal file and warns (exit status 0); silence encodes to an empty set.
"""

from __future__ import annotations

import sys
import time

from atomsynth.commands import _validate as v
from atomsynth.rt.atomic import write_bytes_atomic
from atomsynth.rt.audio_io import read_audio


def add_arguments(parser) -> None:
    parser.add_argument("input", help="audio file (WAV, FLAC, ...)")
    parser.add_argument("-o", "--output", required=True, help="atom file to write (.atoms)")
    parser.add_argument("--kbps", type=float, required=True,
                        help="budget in kb/s, every byte of the file over the clip's duration")
    parser.add_argument("--scale", type=int, default=2048,
                        help="MDCT frame length in samples (default 2048)")
    parser.add_argument("--step-db", type=float, default=3.0,
                        help="velocity quantization step in dB (default 3)")
    parser.add_argument("--range-db", type=float, default=90.0,
                        help="velocity range in dB under the loudest atom (default 90)")
    parser.add_argument("--stereo", choices=("auto", "lr", "ms"), default="auto",
                        help="two channels: left/right, mid/side or whichever is sparser "
                             "(default auto)")
    parser.add_argument("--no-masking", action="store_true",
                        help="rank coefficients by power instead of power over the masking "
                             "threshold")


def run(args) -> int:
    from atomsynth.offline.encoder import encode

    v.output_file(args.output)
    x, sr = read_audio(args.input)
    t0 = time.perf_counter()
    enc = encode(x, sr, kbps=args.kbps, scale=args.scale, step_db=args.step_db,
                 range_db=args.range_db, perceptual=not args.no_masking, stereo=args.stereo)
    elapsed = time.perf_counter() - t0
    write_bytes_atomic(args.output, enc.data)
    for w in enc.warnings:
        print(f"atomsynth encode: warning: {w}", file=sys.stderr)
    print(f"wrote {args.output}: {len(enc.atom_set.mdct)} MDCT atoms, {len(enc.data)} bytes "
          f"({enc.kbps:.2f} kb/s real, budget {args.kbps:g}), {x.shape[0]} channel(s) "
          f"({enc.stereo}), {sr} Hz, {x.shape[1] / sr:.3f} s; {elapsed:.2f} s")
    return 0
