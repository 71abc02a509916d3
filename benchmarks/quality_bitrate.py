"""Quality against bitrate: ``atomsynth encode`` (and the older MDCT codecs) against Opus.

For each file: Opus (``opusenc --bitrate K``, K = 6 8 12 16 24 kb/s) and the atomsynth codecs
at their K values: ``encode`` (the codec's front door, ``atomsynth encode --kbps K``, masking
model on), ``encode-nomask`` (the same, ranked by power: ``--no-masking``), ``mdct`` (one MDCT
of 2048, loudest atoms, ``atomize --single-scale --bitrate-kbps K``) and ``mp`` (matching
pursuit over 7 scales, greed 0.5), all written as compact ``.atoms`` files. ``--codecs``
picks which (default ``encode``). Also prints the per-file table at each ``encode`` rate with
Opus interpolated (linearly in log bitrate) at the same real bitrate, and the issue-14
targets. Every bitrate is the real one: all bytes of the .opus / .atoms file over the
duration. Quality: ViSQOL v3 audio mode (MOS-LQO, higher is better) and mel distance (lower
is better), see :mod:`atomsynth.offline.quality`. Prints a table per codec and rate (means
over files) and draws ``quality_bitrate.png``.

    python3 -m benchmarks.quality_bitrate [--files violin,clarinet] [--all]
        [--codecs encode,mdct] [--out out/quality_bitrate] [--no-visqol]

The default (all files, ``encode`` only) takes about 5 minutes on a quiet machine (ViSQOL
dominates).
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
from atomsynth.offline.encoder import decode, encode
from atomsynth.offline.opus import opus_roundtrip
from atomsynth.offline.pursuit import warm_up
from atomsynth.offline.quality import mel_distance, snr_db, visqol
from atomsynth.rt.atomfile import from_bytes, to_bytes
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.reference import render

OPUS_KBPS = (6, 8, 12, 16, 24)
ATOM_KBPS = (3, 4, 6, 8, 12, 16, 24)
CODEC_KBPS = {"encode": (3, 6, 12, 24), "encode-nomask": (6, 12)}
DEFAULT_FILES = "violin,clarinet,bright_piano"


def atoms_codec(name: str, x: np.ndarray, sr: int, kbps: float) -> tuple[np.ndarray, int]:
    if name.startswith("encode"):
        enc = encode(x, sr, kbps=kbps, perceptual=name == "encode")
        return decode(enc.data)[0], len(enc.data)
    if name == "mdct":
        s = atomize(x, sr, scale=2048, bitrate_bps=kbps * 1000)
    else:
        s, _ = pursue(x, sr, bitrate_bps=kbps * 1000, greed=0.5)
    data = to_bytes(s, compact=True)
    decoded = from_bytes(data)  # decode what the file holds
    return render(decoded, sample_rate=sr, duration_s=x.shape[1] / sr), len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="tests/data")
    ap.add_argument("--files", default=DEFAULT_FILES)
    ap.add_argument("--all", action="store_true", help="every file of --data")
    ap.add_argument("--codecs", default="encode", help="comma-separated: encode, "
                    "encode-nomask, mdct, mp")
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
        jobs = [("opus", k) for k in OPUS_KBPS] + [
            (c, k) for c in args.codecs.split(",") for k in CODEC_KBPS.get(c, ATOM_KBPS)]
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
    per_file_table(rows)
    draw(summary, out / "quality_bitrate.png", len(files))
    print(f"\nwrote {out / 'results.json'} and {out / 'quality_bitrate.png'}")


def opus_at(rows: list[dict], file: str, kbps: float, metric: str) -> float | None:
    """Opus's ``metric`` on ``file`` interpolated linearly in log real bitrate at ``kbps``
    (None outside the measured range)."""
    pts = sorted((r["kbps"], r[metric]) for r in rows if r["file"] == file
                 and r["codec"] == "opus" and r[metric] is not None)
    if not pts or not pts[0][0] <= kbps <= pts[-1][0]:
        return None
    xs, ys = np.log([p[0] for p in pts]), [p[1] for p in pts]
    return float(np.interp(np.log(kbps), xs, ys))


def per_file_table(rows: list[dict]) -> None:
    """Per file and ``encode`` rate: real kb/s, ViSQOL, mel; Opus at the same real kb/s; then
    the issue-14 targets on the means."""
    enc = [r for r in rows if r["codec"] == "encode"]
    for k in sorted({r["target_kbps"] for r in enc}):
        print(f"\nencode {k} kb/s, per file (Opus interpolated at the same real kb/s; "
              "'-' = outside Opus's measured range)")
        print(f"{'file':24s} {'kb/s':>6s} {'ViSQOL':>7s} {'mel':>6s} {'Opus ViSQOL':>11s} "
              f"{'Opus mel':>8s}")
        for r in sorted((r for r in enc if r["target_kbps"] == k), key=lambda r: r["file"]):
            ov, om = (opus_at(rows, r["file"], r["kbps"], m) for m in ("visqol", "mel"))
            vq = f"{r['visqol']:.2f}" if r["visqol"] is not None else "-"
            print(f"{r['file']:24s} {r['kbps']:6.2f} {vq:>7s} {r['mel']:6.3f} "
                  f"{'-' if ov is None else f'{ov:.2f}':>11s} "
                  f"{'-' if om is None else f'{om:.3f}':>8s}")
    s = summarize(rows)
    if ("encode", 12) in s and ("opus", 24) in s:
        e12, o24 = s[("encode", 12)], s[("opus", 24)]
        print(f"\ntarget: encode @12 ViSQOL >= 4.3 and mel <= Opus-24's: got ViSQOL "
              f"{e12['visqol']}, mel {e12['mel']:.3f} (Opus-24: ViSQOL {o24['visqol']}, "
              f"mel {o24['mel']:.3f}, {o24['kbps']:.1f} kb/s real)")
    if ("encode", 6) in s and ("opus", 12) in s:
        e6, o12 = s[("encode", 6)], s[("opus", 12)]
        print(f"target: encode @6 >= Opus @12: got ViSQOL {e6['visqol']}, mel {e6['mel']:.3f} "
              f"(Opus-12: ViSQOL {o12['visqol']}, mel {o12['mel']:.3f}, "
              f"{o12['kbps']:.1f} kb/s real)")


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
    style = {"opus": ("Opus (opusenc)", "k", "o"),
             "encode": ("atomsynth encode (masking)", "C3", "D"),
             "encode-nomask": ("atomsynth encode, no masking", "C2", "v"),
             "mdct": ("atomsynth MDCT 2048", "C0", "s"),
             "mp": ("atomsynth MP, 7 scales", "C1", "^")}
    for codec, (label, color, marker) in style.items():
        keys = sorted(k for k in summary if k[0] == codec)
        if not keys:
            continue
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
        ax.set_xticks([3, 4, 6, 8, 12, 16, 24, 32, 48])
        ax.set_xticklabels(["3", "4", "6", "8", "12", "16", "24", "32", "48"])
        ax.set_xlabel("real bitrate, kb/s (every byte of the file)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"quality vs bitrate, mean over {n_files} file(s) of tests/data")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
