"""Fitted resonant atoms as a codec: quality and bitrate against Opus at 6, 12 and 24 kb/s.

For every file of ``--data`` this reads the atom file that ``atomsynth fit`` (or
``atomsynth fit-batch``) wrote into ``--atoms`` (``<stem>.atoms``; files without one are fitted
first with ``--time-budget`` seconds each), renders it, and measures it like Opus round trips at
6, 12 and 24 kb/s: ViSQOL v3 audio mode (MOS-LQO, higher is better), mel distance (lower is
better) and SNR (see :mod:`atomsynth.offline.quality`). Bitrates are real: every byte of the
compact ``.atoms`` encoding (or the ``.opus`` file) over the duration. Prints one row per file and
codec, the means, and draws ``<out>/fit_codec.png`` (quality against bitrate).

    atomsynth fit-batch tests/data -o out/data --time-budget 60 --jobs 1
    python3 -m benchmarks.fit_codec --atoms out/data [--no-visqol] [--out out]

With the atom files present this takes about 2 minutes on a quiet machine (ViSQOL dominates).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from atomsynth.offline.opus import opus_roundtrip
from atomsynth.offline.quality import mel_distance, snr_db, visqol
from atomsynth.rt.atomfile import load, to_bytes
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.reference import render
from atomsynth.rt.resample import resample

OPUS_KBPS = (6, 12, 24)


def measure(ref: np.ndarray, dec: np.ndarray, sr: int, use_visqol: bool) -> dict:
    out = {"mel_distance": mel_distance(ref, dec, sr), "snr_db": snr_db(ref, dec)}
    out["visqol"] = None
    if use_visqol:
        try:
            out["visqol"] = visqol(ref, dec, sr)
        except ValueError:  # ViSQOL needs about a second of audio; shorter files get none
            pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "tests" / "data"))
    ap.add_argument("--atoms", default="out/data", help="folder of <stem>.atoms from fit")
    ap.add_argument("--out", default="out")
    ap.add_argument("--time-budget", type=float, default=60.0,
                    help="seconds per file when a file still has to be fitted")
    ap.add_argument("--no-visqol", action="store_true")
    args = ap.parse_args()
    rows = []
    for path in sorted(Path(args.data).glob("*.flac")):
        x, sr = read_audio(path)
        x = x.mean(axis=0, keepdims=True)
        dur = x.shape[1] / sr
        atoms_path = Path(args.atoms) / f"{path.stem}.atoms"
        if not atoms_path.exists():
            from atomsynth.offline.fit import FitConfig
            from atomsynth.offline.fit_file import fit_file

            fit_file(path, atoms_path, FitConfig(iterations=100_000,
                                                 time_budget_s=args.time_budget))
        atom_set = load(atoms_path)
        dec = render(atom_set, duration_s=dur)
        if atom_set.sample_rate != sr:
            dec = resample(dec, atom_set.sample_rate, sr, length=x.shape[1])
        dec = dec.mean(axis=0, keepdims=True)
        nbytes = len(to_bytes(atom_set, compact=True))
        row = {"file": path.stem, "codec": "atoms (fit)", "kbps": nbytes * 8 / dur / 1000,
               "atoms_per_s": atom_set.n_atoms / dur, **measure(x, dec, sr, not args.no_visqol)}
        rows.append(row)
        for k in OPUS_KBPS:
            res = opus_roundtrip(x, sr, bitrate_kbps=k)
            rows.append({"file": path.stem, "codec": f"opus {k}", "kbps": res.bitrate_bps / 1000,
                         **measure(x, res.audio, sr, not args.no_visqol)})
        for r in rows[-1 - len(OPUS_KBPS):]:
            v = "  n/a" if r["visqol"] is None else f"{r['visqol']:5.2f}"
            print(f"{r['file']:24s} {r['codec']:12s} {r['kbps']:6.2f} kbps  ViSQOL {v}  "
                  f"mel {r['mel_distance']:.3f}  SNR {r['snr_db']:6.2f} dB", flush=True)
    print("\nmeans over files")
    summary = {}
    for codec in ["atoms (fit)"] + [f"opus {k}" for k in OPUS_KBPS]:
        sel = [r for r in rows if r["codec"] == codec]
        vis = [r["visqol"] for r in sel if r["visqol"] is not None]
        summary[codec] = {
            "kbps": float(np.mean([r["kbps"] for r in sel])),
            "visqol": float(np.mean(vis)) if vis else None,
            "mel_distance": float(np.mean([r["mel_distance"] for r in sel])),
        }
        s = summary[codec]
        v = "  n/a" if s["visqol"] is None else f"{s['visqol']:5.2f}"
        print(f"  {codec:12s} {s['kbps']:6.2f} kbps  ViSQOL {v}  mel {s['mel_distance']:.3f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit_codec.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    draw(rows, out / "fit_codec.png", use_visqol=not args.no_visqol)
    print(f"wrote {out / 'fit_codec.png'} and {out / 'fit_codec.json'}")


def draw(rows: list[dict], path: Path, *, use_visqol: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = (["visqol"] if use_visqol else []) + ["mel_distance"]
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4.5), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for codec, style in (("atoms (fit)", "o"), ("opus", "s")):
            sel = [r for r in rows if r["codec"].startswith(codec) and r[key] is not None]
            ax.scatter([r["kbps"] for r in sel], [r[key] for r in sel], marker=style,
                       label=codec, alpha=0.7)
        ax.set_xscale("log")
        ax.set_xlabel("bitrate (kb/s)")
        ax.set_ylabel({"visqol": "ViSQOL MOS-LQO (higher is better)",
                       "mel_distance": "mel distance (lower is better)"}[key])
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("fitted resonant atoms against Opus, one point per file")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
