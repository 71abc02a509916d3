"""Quality against bitrate: atomsynth's MDCT codecs against Opus, ViSQOL and mel distance.

For each file: Opus (``opusenc --bitrate K``, K = 6 8 12 16 24 kb/s) and two atomsynth codecs
at K = 3 4 6 8 12 16 24 kb/s: ``mdct`` (one MDCT of 2048, loudest atoms, ``atomize
--single-scale --bitrate-kbps K``) and ``mp`` (matching pursuit over 7 scales, greed 0.5,
``atomize --bitrate-kbps K --greed 0.5``), both written as compact ``.atoms`` files. Every
bitrate is the real one: all bytes of the .opus / .atoms file over the duration. Quality:
ViSQOL v3 audio mode (MOS-LQO, higher is better) and mel distance (lower is better), see
:mod:`atomsynth.offline.quality`. Prints a table per codec and rate (means over files), the
design-target check (atomsynth at K/2 against Opus at K), and draws ``quality_bitrate.png``.

    python3 -m benchmarks.quality_bitrate [--files violin,clarinet] [--all]
        [--out out/quality_bitrate] [--no-visqol]

The default three files take about 3 minutes on a quiet machine (ViSQOL dominates).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
from pathlib import Path

import numpy as np

from atomsynth.offline.atomizer import atomize
from atomsynth.offline.codec import pursue
from atomsynth.offline.opus import opus_roundtrip
from atomsynth.offline.pursuit import warm_up
from atomsynth.offline.quality import mel_distance, snr_db, visqol
from atomsynth.rt.atomfile import from_bytes, to_bytes
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.reference import render

OPUS_KBPS = (6, 8, 12, 16, 24)
ATOM_KBPS = (3, 4, 6, 8, 12, 16, 24)
DEFAULT_FILES = "violin,clarinet,bright_piano"


def atoms_codec(name: str, x: np.ndarray, sr: int, kbps: float) -> tuple[np.ndarray, int]:
    if name == "mdct":
        s = atomize(x, sr, scale=2048, bitrate_bps=kbps * 1000)
    else:
        s, _ = pursue(x, sr, bitrate_bps=kbps * 1000, greed=0.5)
    data = to_bytes(s, compact=True)
    decoded = from_bytes(data)  # decode what the file holds
    return render(decoded, sample_rate=sr, duration_s=x.shape[1] / sr), len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "tests" / "data"))
    ap.add_argument("--files", default=DEFAULT_FILES)
    ap.add_argument("--all", action="store_true", help="every file of --data")
    ap.add_argument("--out", default="out/quality_bitrate")
    ap.add_argument("--no-visqol", action="store_true")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw the PNG from OUT/results.json")
    args = ap.parse_args()
    if args.replot:
        rows = json.loads((Path(args.out) / "results.json").read_text())
        draw(summarize(rows), Path(args.out) / "quality_bitrate.png",
             len({r["file"] for r in rows}))
        return
    files = sorted(glob.glob(os.path.join(args.data, "*.flac")))
    if not args.all:
        keep = set(args.files.split(","))
        files = [f for f in files if Path(f).stem in keep]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    warm_up()
    rows = []
    t_start = time.perf_counter()
    for f in files:
        x, sr = read_audio(f)
        dur = x.shape[1] / sr
        jobs = [("opus", k) for k in OPUS_KBPS] + [(c, k) for c in ("mdct", "mp")
                                                   for k in ATOM_KBPS]
        for codec, k in jobs:
            if codec == "opus":
                r = opus_roundtrip(x, sr, bitrate_kbps=k)
                y, nbytes = r.audio, r.nbytes
            else:
                y, nbytes = atoms_codec(codec, x, sr, k)
            row = {"file": Path(f).stem, "codec": codec, "target_kbps": k,
                   "kbps": nbytes * 8 / dur / 1000, "snr_db": snr_db(x, y),
                   "mel": mel_distance(x, y, sr),
                   "visqol": None if args.no_visqol else visqol(x, y, sr)}
            rows.append(row)
            vq = f"{row['visqol']:.2f}" if row["visqol"] is not None else "-"
            print(f"{row['file']:24s} {codec:5s} {k:3d} kb/s -> {row['kbps']:6.2f} kb/s  "
                  f"ViSQOL {vq:>5s}  mel {row['mel']:.3f}  SNR {row['snr_db']:6.2f} dB",
                  flush=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    summary = summarize(rows)
    print(f"\nmeans over {len(files)} file(s) ({time.perf_counter() - t_start:.0f} s)")
    print(f"{'codec':6s} {'target':>6s} {'real kb/s':>9s} {'ViSQOL':>7s} {'mel':>6s} "
          f"{'SNR dB':>7s}")
    for (codec, k), m in sorted(summary.items()):
        vq = f"{m['visqol']:.2f}" if m["visqol"] is not None else "-"
        print(f"{codec:6s} {k:6d} {m['kbps']:9.2f} {vq:>7s} {m['mel']:6.3f} {m['snr_db']:7.2f}")
    print("\ndesign target: atomsynth at half Opus's bitrate as good as Opus "
          "(ViSQOL >=, mel <=)")
    for k in (12, 16, 24):
        o = summary[("opus", k)]
        for codec in ("mdct", "mp"):
            a = summary[(codec, k // 2)]
            ok_v = (a["visqol"] is None or o["visqol"] is None
                    or a["visqol"] >= o["visqol"])
            ok_m = a["mel"] <= o["mel"]
            vq_a = f"{a['visqol']:.2f}" if a["visqol"] is not None else "-"
            vq_o = f"{o['visqol']:.2f}" if o["visqol"] is not None else "-"
            print(f"  {codec:4s} @ {k // 2:2d} kb/s ({a['kbps']:5.2f} real): ViSQOL {vq_a}, mel "
                  f"{a['mel']:.3f}   vs  Opus @ {k:2d} ({o['kbps']:5.2f} real): ViSQOL {vq_o}, "
                  f"mel {o['mel']:.3f}   -> {'MET' if ok_v and ok_m else 'NOT met'}")
    draw(summary, out / "quality_bitrate.png", len(files))
    print(f"\nwrote {out / 'results.json'} and {out / 'quality_bitrate.png'}")


def summarize(rows: list[dict]) -> dict:
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["codec"], r["target_kbps"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        vq = [r["visqol"] for r in rs if r["visqol"] is not None]
        out[key] = {"kbps": float(np.mean([r["kbps"] for r in rs])),
                    "mel": float(np.mean([r["mel"] for r in rs])),
                    "snr_db": float(np.mean([r["snr_db"] for r in rs])),
                    "visqol": float(np.mean(vq)) if vq else None}
    return out


def draw(summary: dict, path: Path, n_files: int) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    style = {"opus": ("Opus (opusenc)", "k", "o"), "mdct": ("atomsynth MDCT 2048", "C0", "s"),
             "mp": ("atomsynth MP, 7 scales", "C1", "^")}
    for codec, (label, color, marker) in style.items():
        keys = sorted(k for k in summary if k[0] == codec)
        x = [summary[k]["kbps"] for k in keys]
        for ax, metric in zip(axes, ("visqol", "mel"), strict=True):
            y = [summary[k][metric] for k in keys]
            if any(v is None for v in y):
                continue
            ax.plot(x, y, marker=marker, color=color, label=label)
    axes[0].set_ylabel("ViSQOL audio MOS-LQO (higher is better)")
    axes[1].set_ylabel("mel distance (lower is better)")
    for ax in axes:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks([3, 4, 6, 8, 12, 16, 24, 32])
        ax.set_xticklabels(["3", "4", "6", "8", "12", "16", "24", "32"])
        ax.set_xlabel("real bitrate, kb/s (every byte of the file)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"quality vs bitrate, mean over {n_files} file(s) of tests/data")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
