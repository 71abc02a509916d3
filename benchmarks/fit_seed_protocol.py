"""Fitting from analysis against the seed protocol (random atoms), in iterations and seconds.

The seed protocol (the project's original fitting experiment; the fitting target of
docs/architecture.md): 64 randomly
initialized resonant atoms fitted to 2^15 samples at 22,050 Hz for 3,000 Adam steps with a
multi-resolution STFT loss plus a sparsity term. This script runs that baseline for
``--iterations`` steps (3,000 is the protocol; pass fewer on a slow machine, the figures then
answer the same question for the shorter baseline), then starts the same 64-atom budget from
analysis (onsets, harmonic peaks, decays, NNLS gains) and counts the steps and seconds it needs
to reach the baseline's final loss. Target: a tenth of the baseline's steps.

    python3 -m benchmarks.fit_seed_protocol [--iterations 3000] [--device auto]
        [--file tests/data/bright_piano.flac] [--offset 0.0] [--json out.json]
        [--threads N]

Both runs use the same loss (spectral part compared; the sparsity term is added during
optimization), the same learning rates and the same renderer; only the starting atoms differ.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from atomsynth.offline.analysis import initial_atoms
from atomsynth.offline.fit import FitConfig, _calibrate, _Segment, resolve_device
from atomsynth.offline.losses import MultiResolutionSTFTLoss, SparsityLoss
from atomsynth.offline.render_torch import render_atoms
from atomsynth.rt.atoms import ResonantAtoms
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.resample import resample

SR = 22050
N = 2**15
N_ATOMS = 64


def random_atoms(rng: np.random.Generator, n: int, duration_s: float) -> ResonantAtoms:
    """The seed's random start: uniform onsets, log-uniform pitch, decay, band; quiet gains."""
    return ResonantAtoms(
        onset_s=rng.uniform(0, duration_s * 0.95, n), gain_db=rng.uniform(-40, -20, n),
        f0_hz=np.exp(rng.uniform(np.log(50), np.log(4000), n)),
        t60_s=np.exp(rng.uniform(np.log(0.05), np.log(2.0), n)),
        damping=rng.uniform(0, 1, n), brightness=rng.uniform(0.2, 0.9, n), n_modes=16,
        noise_hz=np.exp(rng.uniform(np.log(100), np.log(8000), n)),
        noise_bw_hz=np.exp(rng.uniform(np.log(100), np.log(4000), n)),
        attack_s=np.exp(rng.uniform(np.log(0.001), np.log(0.01), n)), burst_shape=2.0,
        inharmonicity=1e-6, cutoff_hz=11025.0, mix=0.01, seed=np.arange(n),
    )


def optimize(atoms: ResonantAtoms, target: torch.Tensor, iterations: int, device, *,
             stop_below: float | None = None, label: str = "") -> dict:
    cfg = FitConfig()
    torch.manual_seed(0)
    seg = _Segment(atoms, 0.0, SR, device, torch.float32)
    opt = seg.optimizer(cfg.learning_rate)
    loss_fn = MultiResolutionSTFTLoss(fft_sizes=cfg.fft_sizes)
    sparse = SparsityLoss(weight=cfg.sparsity)
    target = loss_fn.prepare(target)
    curve = []
    t0 = time.perf_counter()
    reached = None
    for it in range(iterations + 1):
        opt.zero_grad(set_to_none=True)
        p = seg.params()
        out = render_atoms(p, sample_rate=SR, length=N, channels=1)
        spectral = loss_fn(out, target)
        value = float(spectral.detach())
        curve.append((it, time.perf_counter() - t0, value))
        if stop_below is not None and value <= stop_below:
            reached = curve[-1]
            break
        if it == iterations:
            break
        (spectral + sparse(p["gain_db"])).backward()
        opt.step()
        if it % max(1, iterations // 10) == 0:
            print(f"  {label} step {it:5d}  {curve[-1][1]:7.1f} s  loss {value:.4f}", flush=True)
    return {"curve": curve, "final": curve[-1], "reached": reached,
            "seconds_per_step": curve[-1][1] / max(1, curve[-1][0])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", default=str(Path(__file__).resolve().parents[1] / "tests" / "data"
                                          / "bright_piano.flac"))
    ap.add_argument("--offset", type=float, default=0.0, help="excerpt start in seconds")
    ap.add_argument("--iterations", type=int, default=3000, help="baseline steps (protocol 3000)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.use_deterministic_algorithms(True, warn_only=True)
    x, sr = read_audio(args.file)
    x = x.mean(axis=0)
    if sr != SR:
        x = resample(x[None], sr, SR)[0]
    a = int(args.offset * SR)
    x = np.pad(x[a:a + N], (0, max(0, N - x[a:a + N].size)))
    target = torch.as_tensor(x, dtype=torch.float32, device=device)[None, None]
    print(f"seed protocol: {N_ATOMS} atoms, {N} samples at {SR} Hz of {args.file}, device "
          f"{device}, baseline {args.iterations} steps"
          f"{'' if args.iterations == 3000 else ' (protocol: 3000)'}, "
          f"{torch.get_num_threads()} thread(s)")
    rng = np.random.default_rng(0)
    base = optimize(random_atoms(rng, N_ATOMS, N / SR), target, args.iterations, device,
                    label="random  ")
    goal = base["final"][2]
    print(f"random start: loss {base['curve'][0][2]:.4f} -> {goal:.4f} after "
          f"{args.iterations} steps, {base['final'][1]:.1f} s ({base['seconds_per_step']:.3f} "
          f"s/step)")
    t0 = time.perf_counter()
    init = initial_atoms(x, SR, n_atoms=N_ATOMS, span_s=N / SR)
    init = _calibrate(init, x[None], SR, 1, 0.0, N, device, torch.float32)
    t_analysis = time.perf_counter() - t0
    ana = optimize(init, target, args.iterations, device, stop_below=goal, label="analysis")
    first = ana["curve"][0][2]
    if ana["reached"] is not None:
        it, sec, _ = ana["reached"]
        print(f"analysis start ({len(init)} atoms, analysis {t_analysis:.1f} s): loss {first:.4f}"
              f" at step 0; reaches the baseline's final loss {goal:.4f} after {it} steps, "
              f"{sec + t_analysis:.1f} s including analysis")
        print(f"=> {it / args.iterations:.3f} of the baseline's steps (target <= 0.1), "
              f"{(sec + t_analysis) / base['final'][1]:.3f} of its time")
    else:
        print(f"analysis start: loss {first:.4f} -> {ana['final'][2]:.4f}; did not reach "
              f"{goal:.4f} within {args.iterations} steps")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"baseline": base, "analysis": ana, "analysis_seconds": t_analysis,
                       "device": str(device), "iterations": args.iterations}, f)


if __name__ == "__main__":
    main()
