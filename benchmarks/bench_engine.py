"""Real-time engine benchmarks (prints figures; about 1-2 minutes).

    python3 -m benchmarks.bench_engine [--quick]

1. machine ceiling: tight Numba loops with the inner loop over a bank of resonators (it
   vectorizes; checked for packed FMA instructions): real two-pole ``y = a1 y1 - a2 y2 + x``
   and complex phasor ``z = p z`` (the synthesizer's recursion), float32 and float64, bank
   sized to stay in cache, resonators at 48 kHz per core;
2. the streaming synthesizer: simultaneously sounding modes at 48 kHz with 256-frame blocks,
   load = time per block over the block's duration; a search (doubling, then bisection) for
   the most modes under 50 % of one core;
3. offline render of a 1,000-atom set in x real time (dry, through the block path);

Times are given twice: CPU time of this thread (``time.thread_time``, what the render thread
costs; the fair figure on a shared, loaded machine) and wall-clock time (what a quiet machine
shows; on a loaded one it includes time the thread waited for a core).
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
from numba import njit

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.engine import render_through
from atomsynth.rt.synth import StreamingSynth
from atomsynth.rt.synth_kernels import TICK

SR = 48000


# not cached: inspect_asm() needs a fresh compilation
@njit(nogil=True, fastmath=True)
def _two_pole_bank(a1, a2, y1, y2, x, out):
    for n in range(out.shape[0]):
        xv = x[n]
        acc = out[n] - out[n]  # zero of the bank's dtype
        for m in range(a1.shape[0]):
            y = a1[m] * y1[m] - a2[m] * y2[m] + xv
            y2[m] = y1[m]
            y1[m] = y
            acc += y
        out[n] = acc


@njit(nogil=True, fastmath=True)
def _phasor_bank(pr, pi, zr, zi, w, out):
    for n in range(out.shape[0]):
        acc = out[n] - out[n]  # zero of the bank's dtype
        for m in range(pr.shape[0]):
            a = pr[m] * zr[m] - pi[m] * zi[m]
            b = pr[m] * zi[m] + pi[m] * zr[m]
            zr[m] = a
            zi[m] = b
            acc += w[m] * b
        out[n] = acc


def _timed(fn, *args, repeat: int = 3) -> tuple[float, float]:
    """Best (CPU, wall) seconds of ``fn(*args)`` over ``repeat`` runs."""
    cpu = wall = np.inf
    for _ in range(repeat):
        t, c = time.perf_counter(), time.thread_time()
        fn(*args)
        cpu = min(cpu, time.thread_time() - c)
        wall = min(wall, time.perf_counter() - t)
    return cpu, wall


def packed_fma(fn) -> bool:
    """True when the compiled kernel uses packed (vector) FMA instructions."""
    asm = "".join(fn.inspect_asm().values())
    return any(f"vfmadd{k}p" in asm or f"vfmsub{k}p" in asm or f"vfnmadd{k}p" in asm
               for k in ("132", "213", "231"))


def ceiling(dtype, kind: str = "two_pole", n_res: int = 512,
            n_samples: int = 96000) -> tuple[float, float]:
    """Resonator-samples per second of one core, (CPU, wall)."""
    rng = np.random.default_rng(0)
    w = rng.uniform(0.01, 3.0, n_res)
    r = 0.9999
    out = np.zeros(n_samples, dtype)
    if kind == "two_pole":
        a1 = (2 * r * np.cos(w)).astype(dtype)
        a2 = np.full(n_res, r * r, dtype)
        y1 = np.ones(n_res, dtype)
        y2 = np.zeros(n_res, dtype)
        x = np.zeros(n_samples, dtype)
        fn, args = _two_pole_bank, (a1, a2, y1, y2, x, out)
    else:
        p = r * np.exp(1j * w)
        fn, args = _phasor_bank, (p.real.astype(dtype), p.imag.astype(dtype),
                                  np.ones(n_res, dtype), np.zeros(n_res, dtype),
                                  np.ones(n_res, dtype), out)
    fn(*[a[:16] if a.shape[0] == n_samples else a for a in args])  # compile
    cpu, wall = _timed(fn, *args)
    return n_res * n_samples / cpu, n_res * n_samples / wall


def sounding_set(n_atoms: int, n_modes: int) -> AtomSet:
    rng = np.random.default_rng(1)
    atoms = ResonantAtoms(onset_s=0.0, f0_hz=rng.uniform(30, 300, n_atoms), t60_s=60.0,
                          n_modes=n_modes, cutoff_hz=96000.0, brightness=1.0,
                          gain_db=-60.0, seed=rng.integers(0, 2**31, n_atoms),
                          inharmonicity=0.0)
    return AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=30.0)


def synth_load(n_atoms: int, n_modes: int, seconds: float, *, edits: bool = False
               ) -> tuple[int, float, float, float]:
    """(modes sounding, CPU load, wall load, share of the modes in the steady bank) of
    rendering 256-frame blocks, load = time per block over the block's duration (median over
    blocks). ``edits``: every block, one atom in 16 gets a new gain (those atoms leave the
    steady bank and render on their own with smoothed gains)."""
    s = StreamingSynth(sounding_set(n_atoms, n_modes), max_block=8192)
    s.render(256)  # starts every atom
    modes = s.modes_sounding
    blocks = max(8, int(seconds * SR / 256))
    cpu, wall = [], []
    for _ in range(blocks):
        t, c = time.perf_counter(), time.thread_time()
        s.render(256)
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - t)
        if edits:
            idx = np.arange(len(cpu) % 16, n_atoms, 16)
            s.set_atoms(idx, gain_db=-60.0 - (len(cpu) % 7))
    dur = 256 / SR
    banked = s.modes_in_bank
    return (modes, float(np.median(cpu)) / dur, float(np.median(wall)) / dur,
            banked / max(modes, 1))


def modes_under_half_core(n_modes: int, seconds: float, *, wall: bool) -> tuple[int, float]:
    """Search for the most sounding modes (atoms of ``n_modes``) under 50 % of one core:
    double the atom count until the load passes 50 %, then bisect (to 5 %)."""
    pick = 2 if wall else 1
    lo, hi = 0, None
    n = 64
    while hi is None:
        r = synth_load(n, n_modes, seconds)
        if r[pick] < 0.5:
            lo, lo_load = n, r[pick]
            n *= 2
        else:
            hi = n
        if n > 1 << 16:
            break
    while hi is not None and hi - lo > max(1, lo // 20):
        mid = (lo + hi) // 2
        r = synth_load(mid, n_modes, seconds)
        if r[pick] < 0.5:
            lo, lo_load = mid, r[pick]
        else:
            hi = mid
    return lo * n_modes, (lo_load if lo else float("nan"))


def offline_speed() -> tuple[dict, int]:
    rng = np.random.default_rng(2)
    n = 1000
    atoms = ResonantAtoms(onset_s=np.sort(rng.uniform(0, 58, n)), f0_hz=rng.uniform(60, 2000, n),
                          t60_s=rng.uniform(0.3, 2.0, n), n_modes=16, gain_db=-30.0,
                          seed=rng.integers(0, 2**31, n), pan=rng.uniform(-1, 1, n))
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=60.0)
    render_through(StreamingSynth(aset), None, duration_s=1.0, block=4096)  # warm
    out = {}
    for block in (256, 4096):
        t, c = time.perf_counter(), time.thread_time()
        y = render_through(StreamingSynth(aset), None, block=block)
        out[block] = (y.shape[1] / SR / (time.thread_time() - c),
                      y.shape[1] / SR / (time.perf_counter() - t))
    return out, n


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
    return s.slot_bytes, s.burst_arena_bytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="shorter measurements")
    args = ap.parse_args()
    sec = 0.1 if args.quick else 0.3
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load[0]:.2f} {load[1]:.2f} (wall-clock figures under load are "
          "pessimistic; CPU figures less so)")
    ceil = {}
    for kind in ("two_pole", "phasor"):
        for dt in (np.float32, np.float64):
            c, w = ceiling(dt, kind)
            ceil[kind, dt] = c
            fn = _two_pole_bank if kind == "two_pole" else _phasor_bank
            print(f"ceiling, {kind} bank (512 resonators, inner loop over resonators, packed FMA "
                  f"{'yes' if packed_fma(fn) else 'no'}), {dt.__name__}: CPU {c / 1e9:.2f} G "
                  f"res-samples/s = {c / SR:,.0f} resonators at 48 kHz per core "
                  f"(wall {w / SR:,.0f})")
    c64 = ceil["phasor", np.float64]
    for n_atoms, nm, edits in ((400, 64, False), (1600, 16, False), (1600, 16, True)):
        modes, fc, fw, bank = synth_load(n_atoms, nm, 2 * sec, edits=edits)
        what = ", live gain edits on 1/16 of the atoms every block" if edits else ""
        print(f"synth: {modes:,} modes sounding ({n_atoms} atoms x {nm}{what}), 48 kHz, "
              f"256-frame blocks: CPU {fc * 100:.1f} % of one core ({modes * SR / fc / 1e9:.2f} "
              f"G mode-samples/s, {modes * SR / fc / c64 * 100:.0f} % of the float64 phasor "
              f"ceiling), wall {fw * 100:.1f} %; {bank * 100:.0f} % of the modes in the "
              "steady bank")
    for nm in (64, 16):
        for wall in (False, True):
            m, f = modes_under_half_core(nm, sec, wall=wall)
            print(f"synth search, atoms of {nm} modes: {m:,} modes under 50 % of one core "
                  f"({'wall-clock' if wall else 'CPU'} time; measured {f * 100:.0f} %)")
    speeds, n = offline_speed()
    for block, (c, w) in speeds.items():
        print(f"offline render, {n}-atom set (16 modes each, 60 s), {block}-frame blocks, dry: "
              f"{c:.0f}x real time (CPU), {w:.0f}x (wall)")
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
