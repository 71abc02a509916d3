"""``atomsynth preset-from IN.wav -o my_bell.json``: a resonance preset from a recorded strike."""

from __future__ import annotations

import json
import re
from pathlib import Path

from atomsynth.rt.atomic import write_text_atomic


def add_arguments(parser) -> None:
    parser.add_argument("input", help="recording of one strike of the object (WAV/FLAC)")
    parser.add_argument("-o", "--output", required=True, help="preset file to write (.json)")
    parser.add_argument("--name", default=None, help="preset name (default: the output's stem)")
    parser.add_argument("--family", default="recorded", help="kind of object (default recorded)")
    parser.add_argument("--description", default=None, help="one line describing the preset")
    parser.add_argument("--max-modes", type=int, default=16, help="most modes (default 16)")
    parser.add_argument("--floor-db", type=float, default=-60.0,
                        help="ignore peaks this far under the strongest (default -60 dB)")
    parser.add_argument("--min-hz", type=float, default=20.0,
                        help="lowest mode frequency considered (default 20 Hz)")


def run(args) -> int:
    from atomsynth.offline.modal import estimate_modes
    from atomsynth.rt.audio_io import read_audio

    audio, sr = read_audio(args.input)
    est = estimate_modes(audio, sr, max_modes=args.max_modes, floor_db=args.floor_db,
                         min_hz=args.min_hz)
    out = Path(args.output)
    name = args.name or re.sub(r"[^a-z0-9_]+", "_", out.stem.lower()).strip("_") or "recorded"
    table = est.table(
        name, family=args.family,
        description=args.description or f"estimated from {Path(args.input).name}",
        source=f"atomsynth preset-from {Path(args.input).name} (peak picking, Hilbert-envelope "
               f"decays)",
    )
    doc = table.to_json_dict()
    doc["f0_hz"] = float(est.freq_hz[0])
    doc["t60_s"] = float(est.t60_s[0])
    write_text_atomic(out, json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}: {len(table)} modes, fundamental {est.freq_hz[0]:.2f} Hz, "
          f"T60 {est.t60_s[0]:.2f} s")
    for f, t, g in zip(est.freq_hz, est.t60_s, table.gains, strict=True):
        print(f"  {f:10.2f} Hz  ratio {f / est.freq_hz[0]:7.4f}  T60 {t:6.3f} s  gain {g:.3f}")
    return 0
