"""Worst decode work of hostile compact MDCT streams (issue 16): random payloads (valid
checksum) whose single stream spans everything the header's duration allows at the finest
scale, for several durations and payload sizes; prints the slowest decode (CPU seconds) and
what each case ended in (decoded atoms or the error).

Run: ``nice -n 19 python3 benchmarks/hostile_decode.py [--seeds 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atomsynth.rt.errors import AtomFileError  # noqa: E402
from atomsynth.rt.mdct_codec import decode_mdct, last_frame  # noqa: E402
from atomsynth.rt.params import MDCT_SCALES  # noqa: E402

SR = 48000


def one(payload: bytes, duration_s: float, count: int) -> tuple[float, str]:
    end = last_frame(MDCT_SCALES[0], SR, duration_s) + 1
    meta = {"coding": "mdct-range-v1", "n_levels": 64, "range_db": 96.0, "ref": 1.0,
            "order": "canonical", "crc32": zlib.crc32(payload), "count": count,
            "streams": [[0, 0, count, 0, end, MDCT_SCALES[0] // 2 - 1]]}
    t0 = time.process_time()
    try:
        atoms = decode_mdct(meta, payload, count=count, sample_rate=SR, duration_s=duration_s)
        got = f"{len(atoms)} atoms"
    except AtomFileError as exc:
        got = str(exc)[:70]
    return time.process_time() - t0, got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs; load "
          f"{os.getloadavg()}; command: {' '.join(sys.argv)}")
    one(b"\0" * 16, 1.0, 1)  # compile the kernel
    worst = (0.0, "")
    for duration in (1.0, 60.0, 3600.0, 86400.0):
        for size in (1 << 10, 1 << 14, 1 << 18, 1 << 20):
            times = []
            for seed in range(args.seeds):
                payload = np.random.default_rng(seed).bytes(size)
                for count in (1000, 8 * size):
                    t, got = one(payload, duration, count)
                    times.append(t)
                    if t > worst[0]:
                        worst = (t, f"{duration:g} s, {size} bytes, count {count}: {got}")
            print(f"duration {duration:>7g} s, payload {size:>8} bytes: max {max(times):.3f} s"
                  f" CPU, median {np.median(times):.3f} s ({len(times)} streams)")
    print(f"slowest: {worst[0]:.3f} s CPU ({worst[1]})")


if __name__ == "__main__":
    main()
