"""Matching pursuit speed (x real time, one core) and sparsity against one MDCT.

For every file of ``tests/data`` (44.1 kHz): the pursuit over the union of MDCT bases
(128 .. 8192) to 20 dB SNR, plain (greed 1) and weak-greedy (greed 0.5), timed without JIT
compilation; then the atoms needed for 10 / 20 / 30 dB by the plain pursuit and by one MDCT
keeping its largest coefficients (the best single scale, and 2048). Prints two tables.

    NUMBA_NUM_THREADS=1 python3 -m benchmarks.pursuit_speed [--data DIR] [--files a,b]
"""

from __future__ import annotations

import argparse
import glob
import os
import time
from pathlib import Path

import numpy as np

from atomsynth.offline.atomizer import atoms_for_snr
from atomsynth.offline.pursuit import matching_pursuit, warm_up
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.mdct import mdct
from atomsynth.rt.params import MDCT_SCALES

TARGETS = (10.0, 20.0, 30.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "tests" / "data"))
    ap.add_argument("--files", default=None, help="comma-separated stems (default: all)")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.data, "*.flac")))
    if args.files:
        keep = set(args.files.split(","))
        files = [f for f in files if Path(f).stem in keep]
    warm_up()
    print("pursuit to 20 dB SNR, union of 7 MDCT scales, one core (NUMBA_NUM_THREADS="
          f"{os.environ.get('NUMBA_NUM_THREADS', 'unset')})")
    print("s = wall seconds of the pursuit; cpu = process CPU seconds (less sensitive to a "
          "loaded machine); xRT = duration / s (cpu)")
    print(f"{'file':28s} {'dur s':>6s} | {'greed 1: atoms':>14s} {'s':>6s} {'xRT':>6s} "
          f"{'(cpu)':>6s} | {'greed .5: atoms':>15s} {'s':>6s} {'xRT':>6s} {'(cpu)':>6s}")
    tot = {1.0: [0.0, 0.0, 0.0], 0.5: [0.0, 0.0, 0.0]}
    sparsity = []
    for f in files:
        x, sr = read_audio(f)
        dur = x.shape[1] / sr
        row = f"{Path(f).stem:28s} {dur:6.2f} |"
        for greed in (1.0, 0.5):
            c0 = time.process_time()
            r = matching_pursuit(x, sr, snr_db=20.0, greed=greed)
            cpu = time.process_time() - c0
            tot[greed][0] += dur
            tot[greed][1] += r.seconds
            tot[greed][2] += cpu
            row += (f" {len(r.atoms):14d} {r.seconds:6.2f} {dur / r.seconds:6.1f} "
                    f"{dur / cpu:6.1f} |")
        print(row.rstrip("|"), flush=True)
        t0 = time.perf_counter()
        r30 = matching_pursuit(x, sr, snr_db=30.0, max_atoms=200_000)
        mp = []
        for snr in TARGETS:
            k = r30.steps_for_snr(snr)
            mp.append(len(r30.atoms_at(k)) if k is not None else None)
        single = {s: atoms_for_snr(mdct(x, s // 2), list(TARGETS)) for s in MDCT_SCALES}
        best = [min((v[i] for v in single.values() if v[i] is not None), default=None)
                for i in range(len(TARGETS))]
        sparsity.append((Path(f).stem, dur, mp, best, single[2048],
                         time.perf_counter() - t0))
    d = tot[1.0][0]
    print(f"{'total':28s} {d:6.2f} | {'':14s} {tot[1.0][1]:6.2f} {d / tot[1.0][1]:6.1f} "
          f"{d / tot[1.0][2]:6.1f} | {'':15s} {tot[0.5][1]:6.2f} {d / tot[0.5][1]:6.1f} "
          f"{d / tot[0.5][2]:6.1f}")
    print("\natoms needed for 10 / 20 / 30 dB SNR: matching pursuit (union) vs one MDCT "
          "keeping its largest coefficients (best scale per target, and scale 2048)")
    print(f"{'file':28s} | {'MP union':>20s} | {'1 MDCT best scale':>20s} | "
          f"{'1 MDCT 2048':>20s} | {'MP/best @20dB':>13s}")
    ratios = []
    for name, _, mp, best, s2048, _ in sparsity:
        def fmt(v):
            return " ".join(f"{a if a is not None else '-':>6}" for a in v)
        ratio = mp[1] / best[1] if mp[1] and best[1] else float("nan")
        ratios.append(ratio)
        print(f"{name:28s} | {fmt(mp):>20s} | {fmt(best):>20s} | {fmt(s2048):>20s} | "
              f"{ratio:13.2f}")
    print(f"{'geometric mean MP/best at 20 dB':>91s} {np.exp(np.nanmean(np.log(ratios))):6.2f}")


if __name__ == "__main__":
    main()
