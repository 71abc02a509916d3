"""``atomsynth fit IN.wav -o OUT.atoms``: fit resonant atoms to a recording."""

from __future__ import annotations

import json
from pathlib import Path

from atomsynth.commands import _validate as v
from atomsynth.rt.atomic import write_text_atomic
from atomsynth.rt.progress import ProgressBar


def add_fit_options(parser) -> None:
    """The fitting options shared by ``fit`` and ``fit-batch``."""
    parser.add_argument("--atoms-per-second", type=v.finite_float(0.0, 10000.0, lo_open=True),
                        default=24.0,
                        help="atom budget per second of audio (default 24)")
    parser.add_argument("--iterations", type=v.int_in(0, 10_000_000), default=150,
                        help="optimizer steps per segment (default 150; 0: analysis only)")
    parser.add_argument("--time-budget", type=v.finite_float(0.0, lo_open=True),
                        default=None, metavar="SECONDS",
                        help="wall-clock budget of the whole fit; stops segments early")
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when available), cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--seed", type=v.int_in(0, 2**32 - 1),
                        default=0, help="random seed (default 0)")
    parser.add_argument("--sample-rate", type=v.sample_rate, default=None,
                        help="rate to fit at, Hz (default: the file's, at most 22050)")
    parser.add_argument("--segment", type=v.finite_float(0.0, 3600.0, lo_open=True),
                        default=1.0, metavar="SECONDS",
                        help="segment length in seconds (default 1.0)")
    parser.add_argument("--max-modes", type=v.int_in(1, 64),
                        default=16, help="modes per atom (default 16)")
    parser.add_argument("--sparsity", type=v.finite_float(0.0, 1e6), default=0.02,
                        help="weight of the sparsity penalty on gains (default 0.02)")
    parser.add_argument("--exact", action="store_true",
                        help="write the exact file mode instead of the compact one")


def config_from_args(args):
    from atomsynth.offline.fit import FitConfig

    return FitConfig(
        atoms_per_second=args.atoms_per_second, iterations=args.iterations,
        time_budget_s=args.time_budget, device=args.device, seed=args.seed,
        sample_rate=args.sample_rate, segment_s=args.segment, max_modes=args.max_modes,
        sparsity=args.sparsity,
    )


def add_arguments(parser) -> None:
    parser.add_argument("input", help="audio file (any length and channel count)")
    parser.add_argument("-o", "--output", required=True, help="atom file to write (.atoms)")
    add_fit_options(parser)
    parser.add_argument("--report", default=None, metavar="JSON",
                        help="also write the fit report and quality figures as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def fit_file(input_path, output_path, config, *, quiet: bool = False, compact: bool = True,
             label: str | None = None) -> dict:
    """:func:`atomsynth.offline.fit_file.fit_file` with a progress bar on stderr."""
    from atomsynth.offline.fit_file import fit_file as fit_one

    with ProgressBar(label or f"fit {Path(input_path).name}", enabled=not quiet) as bar:
        return fit_one(input_path, output_path, config, compact=compact,
                       progress=lambda f, t: bar(f, t))


def run(args) -> int:
    v.output_file(args.output)
    if args.report:
        v.output_file(args.report, "--report")
    config = config_from_args(args)
    result = fit_file(args.input, args.output, config, quiet=args.quiet, compact=not args.exact)
    q, r = result["quality"], result["report"]
    print(f"wrote {args.output}: {q['atoms']} atoms ({q['atoms_per_second']:.1f}/s, "
          f"{r['atoms_before_pruning'] - q['atoms']} pruned), {q['bitrate_bps'] / 1000:.2f} kbps; "
          f"{r['segments']} segment(s), {r['iterations']} steps in {r['seconds']:.1f} s on "
          f"{r['device']}")
    print(f"quality: SNR {q['snr_db']:.2f} dB, log-spectral distance "
          f"{q['log_spectral_distance_db']:.2f} dB, mel distance {q['mel_distance']:.3f}; "
          f"mean segment loss "
          f"{sum(r['initial_loss']) / max(1, len(r['initial_loss'])):.3f} -> "
          f"{sum(r['final_loss']) / max(1, len(r['final_loss'])):.3f}")
    if args.report:
        write_text_atomic(args.report, json.dumps(result, indent=2))
    return 0
