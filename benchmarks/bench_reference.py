"""Speed of the NumPy float64 reference renderer, and the bitrate of the bundled examples.

    python3 -m benchmarks.bench_reference [--atoms 1000] [--seconds 60]

Prints, for every bundled example: duration, atoms, exact and compact file sizes and bitrates,
and render speed (x real time); then the speed on a random 1,000-atom set. Single-threaded
NumPy (set OMP_NUM_THREADS / OPENBLAS_NUM_THREADS=1 for a one-core figure).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import load, to_bytes
from atomsynth.rt.presets import data_dir
from atomsynth.rt.reference import render


def timed_render(atom_set: AtomSet) -> tuple[float, float]:
    t0 = time.perf_counter()
    audio = render(atom_set)
    elapsed = time.perf_counter() - t0
    return elapsed, audio.shape[1] / atom_set.sample_rate


def random_set(n: int, seconds: float, seed: int = 1) -> AtomSet:
    rng = np.random.default_rng(seed)
    atoms = ResonantAtoms(
        onset_s=np.sort(rng.uniform(0, seconds - 2, n)), f0_hz=rng.uniform(60, 2000, n),
        t60_s=rng.uniform(0.2, 1.5, n), n_modes=16, gain_db=rng.uniform(-40, -20, n),
        pan=rng.uniform(-1, 1, n), seed=np.arange(n), noise_hz=rng.uniform(300, 5000, n),
        attack_s=rng.uniform(0.0005, 0.01, n))
    return AtomSet(sample_rate=48000, channels=2, resonant=atoms, duration_s=seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'example':<16} {'s':>6} {'atoms':>6} {'exact B':>8} {'compact B':>9} "
          f"{'kbit/s':>7} {'render s':>9} {'x RT':>6}")
    for path in sorted((data_dir() / "examples").glob("*.atoms")):
        s = load(path)
        compact = len(to_bytes(s, compact=True))
        elapsed, dur = timed_render(s)
        print(f"{path.stem:<16} {dur:6.1f} {s.n_atoms:6d} {path.stat().st_size:8d} "
              f"{compact:9d} {compact * 8 / s.length_s / 1000:7.2f} {elapsed:9.2f} "
              f"{dur / elapsed:6.1f}")
    s = random_set(args.atoms, args.seconds)
    elapsed, dur = timed_render(s)
    print(f"random {args.atoms} atoms x 16 modes, {dur:.0f} s: rendered in {elapsed:.2f} s = "
          f"{dur / elapsed:.1f}x real time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
