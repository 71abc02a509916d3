"""Cost of one 256-frame block of static playback, and the kernel's share of it.

25,600 modes sounding (400 atoms of 64 modes, all in the steady bank), 48 kHz; after 400
warm-up blocks, times 4,000 calls of ``StreamingSynth.render(256)`` with ``time.process_time``
and, under cProfile, the time spent inside the Numba kernel call. The difference is the Python
work per block (what a refactor of the synthesizer's Python side can change).

    python3 -m benchmarks.synth_block_cost
"""

from __future__ import annotations

import cProfile
import os
import platform
import pstats
import time

import numpy as np

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.synth import StreamingSynth

BLOCK = 256
BLOCKS = 4000


def main() -> None:
    rng = np.random.default_rng(1)
    n = 400
    atoms = ResonantAtoms(onset_s=np.zeros(n), f0_hz=rng.uniform(60, 300, n), t60_s=100.0,
                          n_modes=64, gain_db=-40.0, seed=np.arange(n))
    synth = StreamingSynth(AtomSet(sample_rate=48000, channels=2, resonant=atoms,
                                   duration_s=300.0), sample_rate=48000, max_block=8192)
    for _ in range(400):
        synth.render(BLOCK)
    t0 = time.process_time()
    for _ in range(BLOCKS):
        synth.render(BLOCK)
    per_block = (time.process_time() - t0) / BLOCKS
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(BLOCKS // 2):
        synth.render(BLOCK)
    prof.disable()
    stats = pstats.Stats(prof).stats
    kernel = max(v[2] for k, v in stats.items() if k[0].endswith("synth_kernels.py"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"25,600 modes, {BLOCK}-frame blocks at 48 kHz: {per_block * 1e6:.0f} us per block "
          f"({per_block * 48000 / BLOCK * 100:.1f} % of one core); kernel call "
          f"{kernel / (BLOCKS // 2) * 1e6:.0f} us per block under cProfile")


if __name__ == "__main__":
    main()
