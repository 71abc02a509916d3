"""``atomsynth atomize IN.wav -o OUT.atoms``: MDCT atoms by matching pursuit or one MDCT.

By default: matching pursuit over the union of MDCT bases (``--scales``) until a stop rule
(``--atoms``, ``--snr-db``, ``--bitrate-kbps``). With ``--single-scale``: every bin of one MDCT
(the first of ``--scales``, default 2048) becomes an atom and the loudest are kept. With
``--residual-of FIT.atoms``: the pursuit runs on the residual of a resonant fit and the output
carries both families.
"""

from __future__ import annotations

import time
from pathlib import Path

from atomsynth.commands import _validate as v
from atomsynth.rt.atomfile import load, save
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.features import ORDERS
from atomsynth.rt.params import MDCT_SCALES
from atomsynth.rt.progress import ProgressBar


def _scales(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ParameterError(f"--scales {text!r}: expected comma-separated integers such as "
                             "128,256,512") from None


def add_arguments(parser) -> None:
    parser.add_argument("input", help="audio file (WAV, FLAC, ...)")
    parser.add_argument("-o", "--output", required=True, help="atom file to write (.atoms)")
    parser.add_argument("--scales", default=",".join(str(s) for s in MDCT_SCALES),
                        help="MDCT frame lengths of the union (pursuit) or the one scale "
                             "(--single-scale; default 2048 there)")
    stop = parser.add_argument_group("stop rules (pursuit) / selection (single scale)")
    stop.add_argument("--atoms", type=v.int_in(1, 10_000_000),
                      default=None, help="at most this many atoms")
    stop.add_argument("--snr-db", type=v.finite_float(-200.0, 400.0),
                      default=None, help="stop at this SNR in dB")
    stop.add_argument("--bitrate-kbps", type=v.finite_float(0.0, 1e6, lo_open=True), default=None,
                      help="the compact file must fit this bitrate (every byte counted)")
    stop.add_argument("--threshold-db", type=v.finite_float(0.0, 400.0), default=None,
                      help="single scale: keep atoms at most this many dB under the loudest")
    parser.add_argument("--single-scale", action="store_true",
                        help="one MDCT, keep the loudest coefficients (no pursuit)")
    parser.add_argument("--levels", type=v.int_in(2, 65536),
                        default=64, help="velocity levels (default 64)")
    parser.add_argument("--range-db", type=v.finite_float(1.0, 400.0), default=96.0,
                        help="velocity range in dB under the loudest atom (default 96)")
    parser.add_argument("--order", choices=ORDERS, default="velocity", help="atom order")
    parser.add_argument("--greed", type=v.finite_float(0.0, 1.0, lo_open=True), default=1.0,
                        help="pursuit: 1 = plain matching pursuit; < 1 takes, per round, every "
                             "orthogonal atom within this factor of the largest (faster)")
    parser.add_argument("--residual-of", metavar="FIT.atoms", default=None,
                        help="pursue the residual of this resonant fit; write both families")
    parser.add_argument("--compact", action="store_true",
                        help="write the compact (range-coded) file instead of the exact one")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _scale_of(args, scales) -> int:
    return scales[0] if args.scales != ",".join(str(s) for s in MDCT_SCALES) else 2048


def _single_scale_streaming(args, scales) -> int:
    """--single-scale with --atoms / --threshold-db (or neither): read in chunks, any length
    in bounded memory; the SNR measured chunk by chunk instead of by a full render."""
    from atomsynth.offline.atomize_stream import atomize_file

    t0 = time.perf_counter()
    scale = _scale_of(args, scales)
    with ProgressBar(f"atomize {Path(args.input).name}", enabled=not args.quiet) as bar:
        atom_set, snr = atomize_file(args.input, scale=scale, keep_top=args.atoms,
                                     threshold_db=args.threshold_db, n_levels=args.levels,
                                     range_db=args.range_db, order=args.order, progress=bar)
    elapsed = time.perf_counter() - t0
    nbytes = save(atom_set, args.output, compact=args.compact)
    seconds = atom_set.duration_s
    print(f"wrote {args.output}: {len(atom_set.mdct)} MDCT + 0 resonant atoms, {nbytes} bytes "
          f"({nbytes * 8 / seconds / 1000:.2f} kb/s, {'compact' if args.compact else 'exact'}), "
          f"SNR {snr:.2f} dB; single-scale MDCT ({scale}), streamed; total {elapsed:.2f} s")
    return 0


def run(args) -> int:
    from atomsynth.offline.atomizer import atomize
    from atomsynth.offline.codec import pursue
    from atomsynth.offline.quality import snr_db
    from atomsynth.rt.reference import render

    v.output_file(args.output)
    scales = _scales(args.scales)
    if args.single_scale and not (args.residual_of or args.bitrate_kbps or args.snr_db):
        return _single_scale_streaming(args, scales)
    x, sr = read_audio(args.input)
    if x.shape[1] == 0:
        raise ParameterError(f"{args.input}: the file holds no samples")
    bitrate = args.bitrate_kbps * 1000.0 if args.bitrate_kbps is not None else None
    seconds = x.shape[1] / sr
    t0 = time.perf_counter()
    if args.single_scale:
        if args.residual_of:
            raise ParameterError("--residual-of needs the pursuit (drop --single-scale)")
        scale = _scale_of(args, scales)
        atom_set = atomize(x, sr, scale=scale, keep_top=args.atoms, threshold_db=args.threshold_db,
                           bitrate_bps=bitrate, n_levels=args.levels, range_db=args.range_db,
                           order=args.order, snr_db=args.snr_db)
        how = f"single-scale MDCT ({scale})"
    else:
        if args.atoms is None and args.snr_db is None and bitrate is None:
            raise ParameterError("give a stop rule: --atoms, --snr-db or --bitrate-kbps")
        base = load(args.residual_of) if args.residual_of else None
        from atomsynth.offline.pursuit import warm_up

        warm_up()
        t0 = time.perf_counter()
        with ProgressBar(f"pursuit {Path(args.input).name}", enabled=not args.quiet) as bar:
            atom_set, res = pursue(x, sr, scales=scales, max_atoms=args.atoms,
                                   snr_db=args.snr_db, bitrate_bps=bitrate,
                                   n_levels=args.levels, range_db=args.range_db,
                                   order=args.order, greed=args.greed, base=base,
                                   progress=bar)
            bar(1.0)
        how = (f"matching pursuit over {len(scales)} scale(s), {res.steps} steps in "
               f"{res.seconds:.2f} s ({seconds / max(res.seconds, 1e-9):.1f}x real time), "
               f"pursuit SNR {res.snr_db:.2f} dB")
    elapsed = time.perf_counter() - t0
    nbytes = save(atom_set, args.output, compact=args.compact)
    y = render(atom_set, sample_rate=sr, duration_s=seconds)
    print(f"wrote {args.output}: {len(atom_set.mdct)} MDCT + {len(atom_set.resonant)} resonant "
          f"atoms, {nbytes} bytes ({nbytes * 8 / seconds / 1000:.2f} kb/s, "
          f"{'compact' if args.compact else 'exact'}), SNR {snr_db(x, y):.2f} dB; {how}; "
          f"total {elapsed:.2f} s")
    return 0
