"""``atomsynth fit-batch DIR -o OUTDIR``: fit every audio file of a folder tree."""

from __future__ import annotations

import os

from atomsynth.commands.fit import add_fit_options, config_from_args
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.progress import ProgressBar


def add_arguments(parser) -> None:
    parser.add_argument("folder", nargs="?", default=None,
                        help="folder of audio files, searched recursively (MusicNet layout "
                             "works); default $AUDIO_PATH")
    parser.add_argument("-o", "--output", required=True, help="folder for the atom files")
    add_fit_options(parser)
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes on this machine (default: CPU count)")
    parser.add_argument("--ray", default=None, metavar="ADDRESS",
                        help="run on a Ray cluster at ADDRESS (e.g. auto); needs ray")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from atomsynth.offline.batch import find_jobs, fit_corpus

    folder = args.folder or os.environ.get("AUDIO_PATH")
    if not folder:
        raise ParameterError("no folder given and AUDIO_PATH is not set")
    config = config_from_args(args)
    jobs = find_jobs(folder, args.output)
    todo = sum(1 for j in jobs if not j.output.exists())
    print(f"{len(jobs)} audio file(s) under {folder}; {len(jobs) - todo} already fitted, "
          f"{todo} to fit" + (f" on Ray at {args.ray}" if args.ray else ""))
    failed = []
    with ProgressBar("fit-batch", enabled=not args.quiet) as bar:
        def progress(done, total, result):
            if "error" in result:
                failed.append(result)
            bar(done / total, f"{done}/{total} {os.path.basename(result['input'])}")

        results = fit_corpus(folder, args.output, config, jobs=args.jobs, ray_address=args.ray,
                             progress=progress)
    ok = [r for r in results if "error" not in r]
    for r in ok:
        q = r["quality"]
        print(f"  {r['output']}: {q['atoms']} atoms, {q['bitrate_bps'] / 1000:.2f} kbps, "
              f"mel distance {q['mel_distance']:.3f}")
    for r in failed:
        print(f"  FAILED {r['input']}: {r['error']}")
    return 1 if failed else 0
