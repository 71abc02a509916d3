"""Speed of the atom language model: training steps per second and inference time.

Prints, for the ``small`` size (and ``large`` when CUDA is present): milliseconds per training
step at the default batch, the extrapolated time of the default number of steps, and the time
of one ``inpaint`` of 0.3 s on a development clip (tests/data). Takes about 1 to 2 minutes on
a quiet CPU.

    python3 -m benchmarks.lm_speed [--threads 1] [--data tests/data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from atomsynth.offline.lm.data import WindowSampler
from atomsynth.offline.lm.infer import Predictor, Sampling
from atomsynth.offline.lm.model import PRESETS, AtomLM, ModelConfig, count_parameters
from atomsynth.offline.lm.tokenizer import make_tokenizer
from atomsynth.offline.lm.train import TrainConfig, prepare_tokens


def bench_train(cfg: TrainConfig, files, device: str, n_steps: int) -> float:
    tok = make_tokenizer(cfg.tokenizer_config())
    sets = prepare_tokens(files, tok, max_atoms=cfg.max_atoms)
    sampler = WindowSampler(sets, window_frames=cfg.window_frames, max_atoms=cfg.max_atoms)
    copy = tuple(tok.schema.names.index(n) for n in cfg.copy_features)
    model = AtomLM(ModelConfig(tok.schema.cards, max_atoms=cfg.max_atoms, copy_heads=copy,
                               **PRESETS[cfg.size])).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    times = []
    for i in range(n_steps + 3):
        t0 = time.perf_counter()
        v, m, p = (torch.from_numpy(a).to(device) for a in sampler.batch(cfg.batch_size))
        loss, _ = model.loss(model(v, m, p), v, m, p)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    ms = 1000 * sorted(times)[len(times) // 2]
    print(f"{cfg.size:6s} ({count_parameters(model) / 1e6:.2f} M parameters) on {device}: "
          f"{ms:.0f} ms/step (median of {n_steps}, batch {cfg.batch_size} x "
          f"{cfg.max_atoms} atoms); {cfg.steps} steps ~ {cfg.steps * ms / 60000:.1f} min")
    return ms


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=None,
                    help="folder of .flac clips (default: tests/data)")
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    candidates = [args.data] if args.data else [
        Path(__file__).resolve().parents[1] / "tests" / "data"]
    files = []
    for folder in candidates:
        files = sorted(Path(folder).glob("*.flac"))
        if files:
            break
    if not files:
        raise SystemExit(f"no .flac files in {candidates}; pass --data")
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s)")
    bench_train(TrainConfig.for_size("small"), files, "cpu", args.steps)
    if torch.cuda.is_available():
        bench_train(TrainConfig.for_size("small"), files, "cuda", args.steps)
        bench_train(TrainConfig.for_size("large"), files, "cuda", args.steps)
    # inference: an untrained small model costs the same as a trained one
    cfg = TrainConfig.for_size("small")
    tok = make_tokenizer(cfg.tokenizer_config())
    model = AtomLM(ModelConfig(tok.schema.cards, max_atoms=cfg.max_atoms,
                               **PRESETS["small"])).eval()
    sets = prepare_tokens(files[:1], tok, max_atoms=10**6)
    config = {"schema": {"names": list(tok.schema.names), "cards": list(tok.schema.cards),
                         "roles": tok.schema.roles}, "tokenizer": tok.config(),
              "train": cfg.__dict__, "model": {"max_atoms": cfg.max_atoms},
              "freq_hist": [1] * tok.schema.cards[1]}
    pred = Predictor(model, config, sampling=Sampling(steps=12))
    hop_s = tok.frame_seconds(44100)
    a = int(1.0 / hop_s)
    t0 = time.perf_counter()
    pred.inpaint(sets[0], a, a + int(0.3 / hop_s))
    print(f"inpaint 0.3 s (12 decoding rounds per window, small, cpu): "
          f"{time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
