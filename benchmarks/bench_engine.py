"""Real-time engine benchmarks (prints figures; about 1-2 minutes).

    python benchmarks/bench_engine.py [--quick]

1. machine ceiling: a tight Numba loop over a bank of real two-pole resonators
   (``y = a1 y1 - a2 y2 + x``), float32 and float64, resonator-samples per second of one core;
2. the streaming synthesizer: simultaneously sounding modes at 48 kHz with 256-frame blocks,
   as CPU time per block over the block's duration, and the largest count under 50 % of one
   core (extrapolated linearly from the measured load);
3. offline render of a 1,000-atom set in x real time (dry, through the block path);
4. control-change delay: samples from an edit to the first changed output sample (synth),
   plus the live engine's queue + ring + device latency;
5. memory per active atom (slot state) and for the burst pool.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.engine import render_through
from atomsynth.rt.synth import StreamingSynth
from atomsynth.rt.synth_kernels import TICK
from numba import njit

SR = 48000


@njit(cache=True, nogil=True, fastmath=True)
def _two_pole_bank(a1, a2, y1, y2, x, out):
    for n in range(out.shape[0]):
        xv = x[n]
        acc = 0.0
        for m in range(a1.shape[0]):
            y = a1[m] * y1[m] - a2[m] * y2[m] + xv
            y2[m] = y1[m]
            y1[m] = y
            acc += y
        out[n] = acc


def ceiling(dtype, n_res: int = 4096, n_samples: int = 48000) -> float:
    rng = np.random.default_rng(0)
    w = rng.uniform(0.01, 3.0, n_res)
    r = 0.9999
    a1 = (2 * r * np.cos(w)).astype(dtype)
    a2 = np.full(n_res, r * r, dtype)
    y1 = np.zeros(n_res, dtype)
    y2 = np.zeros(n_res, dtype)
    x = np.zeros(n_samples, dtype)
    x[0] = 1
    out = np.zeros(n_samples, dtype)
    _two_pole_bank(a1, a2, y1, y2, x[:16], out[:16])
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        _two_pole_bank(a1, a2, y1, y2, x, out)
        best = min(best, time.perf_counter() - t)
    return n_res * n_samples / best


def sounding_set(n_atoms: int, n_modes: int) -> AtomSet:
    rng = np.random.default_rng(1)
    atoms = ResonantAtoms(onset_s=0.0, f0_hz=rng.uniform(30, 300, n_atoms), t60_s=60.0,
                          n_modes=n_modes, cutoff_hz=96000.0, brightness=1.0,
                          gain_db=-60.0, seed=rng.integers(0, 2**31, n_atoms),
                          inharmonicity=0.0)
    return AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=30.0)


def synth_load(n_atoms: int, n_modes: int, seconds: float) -> tuple[int, float]:
    s = StreamingSynth(sounding_set(n_atoms, n_modes), max_block=8192)
    s.render(256)  # starts every atom
    modes = int(s._nmod[s._active[: s.atoms_playing]].sum())
    blocks = int(seconds * SR / 256)
    times = []
    for _ in range(blocks):
        t = time.perf_counter()
        s.render(256)
        times.append(time.perf_counter() - t)
    per_block = float(np.median(times))
    return modes, per_block / (256 / SR)


def offline_speed() -> tuple[float, float, int]:
    rng = np.random.default_rng(2)
    n = 1000
    atoms = ResonantAtoms(onset_s=np.sort(rng.uniform(0, 58, n)), f0_hz=rng.uniform(60, 2000, n),
                          t60_s=rng.uniform(0.3, 2.0, n), n_modes=16, gain_db=-30.0,
                          seed=rng.integers(0, 2**31, n), pan=rng.uniform(-1, 1, n))
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=60.0)
    render_through(StreamingSynth(aset), None, duration_s=1.0, block=4096)  # warm
    out = {}
    for block in (256, 4096):
        t = time.perf_counter()
        y = render_through(StreamingSynth(aset), None, block=block)
        out[block] = y.shape[1] / SR / (time.perf_counter() - t)
    return out[256], out[4096], n


def control_delay() -> list[int]:
    atoms = ResonantAtoms(onset_s=0.0, f0_hz=200.0, t60_s=5.0, gain_db=-6.0)
    aset = AtomSet(sample_rate=SR, channels=1, resonant=atoms, duration_s=1.0)
    delays = []
    for at in (1000, 1001, 1023, 1024, 5000 + 17):
        a = StreamingSynth(aset)
        b = StreamingSynth(aset)
        b.set_macro("master_gain_db", -1.0, at=at)
        ya = a.render_all(duration_s=0.2, block=256)[0, 0]
        yb = b.render_all(duration_s=0.2, block=256)[0, 0]
        first = int(np.flatnonzero(ya != yb)[0])
        delays.append(first - at)
    return delays


def memory() -> tuple[float, float]:
    s = StreamingSynth(sounding_set(64, 64))
    per_slot = sum(getattr(s, k).nbytes for k in dir(s) if k.startswith("_")
                   and isinstance(getattr(s, k, None), np.ndarray)
                   and getattr(s, k).shape[:1] == (s._cap,)) / s._cap
    return per_slot, s._bpool.nbytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="shorter measurements")
    args = ap.parse_args()
    sec = 0.5 if args.quick else 2.0
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load[0]:.2f} {load[1]:.2f} (figures under load are pessimistic)")
    c32, c64 = ceiling(np.float32), ceiling(np.float64)
    print(f"ceiling, two-pole resonator bank, one core: float32 {c32 / 1e9:.2f} G res-samples/s "
          f"= {c32 / SR:,.0f} resonators at 48 kHz; float64 {c64 / 1e9:.2f} G = "
          f"{c64 / SR:,.0f}")
    for n_atoms in (400, 800):
        modes, frac = synth_load(n_atoms, 64, sec)
        cap = modes * 0.5 / frac
        print(f"synth: {modes:,} modes sounding ({n_atoms} atoms x 64), 48 kHz, 256-frame "
              f"blocks: {frac * 100:.1f} % of one core -> ~{cap:,.0f} modes under 50 % "
              f"(complex one-pole float64: {modes * SR / frac / 1e9:.2f} G mode-samples/s, "
              f"{modes * SR / frac / c32 * 100:.0f} % of the float32 two-pole ceiling, "
              f"{modes * SR / frac / c64 * 100:.0f} % of float64)")
    x256, x4096, n = offline_speed()
    print(f"offline render, {n}-atom set (16 modes each, 60 s): {x256:.0f}x real time in "
          f"256-frame blocks, {x4096:.0f}x in 4096-frame blocks (dry)")
    d = control_delay()
    print(f"control change -> first changed sample: {min(d)} to {max(d)} samples "
          f"(next {TICK}-sample tick; {max(d) / SR * 1000:.2f} ms) in the synth; live adds "
          f"the edit queue (<= 1 block) + ring (ahead_blocks x block) + device latency, e.g. "
          f"4 x 256 frames = {4 * 256 / SR * 1000:.1f} ms + device")
    per_slot, pool = memory()
    print(f"memory: {per_slot / 1024:.1f} KiB of state per active atom slot (64 modes "
          f"allocated), burst pool {pool / 1024:.0f} KiB shared (grows on demand)")


if __name__ == "__main__":
    main()
