"""Time of one Adam step of the seed protocol, split into render, loss and backward + step.

The seed protocol's step (``benchmarks/fit_seed_protocol.py``): 64 random resonant atoms x 16
modes, 2^15 samples at 22,050 Hz, the fit's multi-resolution STFT loss (FFT sizes 2048..128)
plus the sparsity term, Adam on every continuous parameter. Prints the median of ``--steps``
timed steps after ``--warmup`` untimed ones (< 1 minute on one CPU core).

    python3 -m benchmarks.fit_step_time [--threads 1] [--steps 10] [--device cpu]
        [--long-bursts 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from atomsynth.offline.fit import FitConfig, _Segment, resolve_device
from atomsynth.offline.losses import MultiResolutionSTFTLoss, SparsityLoss
from atomsynth.offline.render_torch import render_atoms
from benchmarks.fit_seed_protocol import N_ATOMS, SR, N, random_atoms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--long-bursts", type=int, default=0,
                    help="give this many atoms the longest burst the fit allows (50 ms attack, "
                         "shape 0.55: about 1 s), as optimization can")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    cfg = FitConfig()
    atoms = random_atoms(np.random.default_rng(0), N_ATOMS, N / SR)
    if args.long_bursts:
        k = min(args.long_bursts, N_ATOMS)
        atoms = atoms.with_columns(attack_s=np.r_[np.full(k, 0.05), atoms.attack_s[k:]],
                                   burst_shape=np.r_[np.full(k, 0.55), atoms.burst_shape[k:]])
    target = torch.as_tensor(np.random.default_rng(1).standard_normal((1, 1, N)) * 0.1,
                             dtype=torch.float32, device=device)
    seg = _Segment(atoms, 0.0, SR, device, torch.float32)
    opt = seg.optimizer(cfg.learning_rate)
    loss_fn = MultiResolutionSTFTLoss(fft_sizes=cfg.fft_sizes)
    prepared = loss_fn.prepare(target) if hasattr(loss_fn, "prepare") else target
    sparse = SparsityLoss(weight=cfg.sparsity)
    rows = []
    for it in range(args.warmup + args.steps):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        p = seg.params()
        out = render_atoms(p, sample_rate=SR, length=N, channels=1)
        sync()
        t1 = time.perf_counter()
        loss = loss_fn(out, prepared) + sparse(p["gain_db"])
        sync()
        t2 = time.perf_counter()
        loss.backward()
        opt.step()
        sync()
        t3 = time.perf_counter()
        if it >= args.warmup:
            rows.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
    med = np.median(np.array(rows), axis=0)
    print(f"seed-protocol step ({N_ATOMS} atoms x 16 modes, {N} samples at {SR} Hz, "
          f"{args.long_bursts} long bursts), device {device}, {args.threads} thread(s), median "
          f"of {args.steps}:")
    print(f"  render {med[0] * 1e3:7.1f} ms  loss {med[1] * 1e3:7.1f} ms  backward+step "
          f"{med[2] * 1e3:7.1f} ms  total {med[3] * 1e3:7.1f} ms/step")


if __name__ == "__main__":
    main()
