"""Training the atom language model: data preparation, the loop, checkpoints.

A checkpoint folder holds ``config.json`` (tokenizer, model and training settings, the file
split, the data statistics inference needs) and ``model.pt`` (``torch.save`` of plain state
dicts: model, optimizer, step, loss history), both written atomically. ``torch.load`` reads it
with ``weights_only=True``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from atomsynth.offline.lm.data import (
    TASKS,
    WindowSampler,
    collate,
    fixed_windows,
    list_inputs,
    load_atom_set,
    prune_per_frame,
    task_mask,
)
from atomsynth.offline.lm.model import PRESETS, AtomLM, ModelConfig
from atomsynth.offline.lm.tokenizer import TokenSet, make_tokenizer
from atomsynth.rt.atomic import write_bytes_atomic as atomic_write_bytes
from atomsynth.rt.errors import AtomsynthError, ParameterError
from atomsynth.rt.progress import ProgressBar

DEFAULT_HOLDOUT = ("harp", "violin")


@dataclass
class TrainConfig:
    """Training settings (saved in ``config.json``)."""

    size: str = "small"
    family: str = "mdct"
    scale: int = 1024
    window_frames: int = 32
    max_atoms: int = 128
    n_levels: int = 64
    range_db: float = 96.0
    order: str = "velocity"
    batch_size: int = 16
    steps: int = 2500
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 0.01
    seed: int = 0
    holdout: tuple[str, ...] = DEFAULT_HOLDOUT
    checkpoint_every: int = 250
    channels: int = 1
    copy_features: tuple[str, ...] = ("bin",)
    model_overrides: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_size(cls, size: str, **changes: Any) -> TrainConfig:
        """The defaults of a named size (see :data:`SIZE_DEFAULTS`), with ``changes``."""
        if size not in SIZE_DEFAULTS:
            raise ParameterError(f"size = {size!r} is not one of {tuple(SIZE_DEFAULTS)}")
        return cls(size=size, **{**SIZE_DEFAULTS[size], **changes})

    def tokenizer_config(self) -> dict[str, Any]:
        if self.family == "mdct":
            return {"family": "mdct", "scale": self.scale, "window_frames": self.window_frames,
                    "n_levels": self.n_levels, "range_db": self.range_db,
                    "channels": self.channels}
        return {"family": "resonant", "window_frames": self.window_frames}


SIZE_DEFAULTS: dict[str, dict[str, Any]] = {
    "tiny": dict(window_frames=16, max_atoms=32, batch_size=8, steps=200, lr=3e-3, warmup=10),
    "small": dict(window_frames=32, max_atoms=128, batch_size=16, steps=2500, lr=2e-3),
    "large": dict(window_frames=64, max_atoms=256, batch_size=64, steps=20000, lr=5e-4,
                  warmup=500, checkpoint_every=1000),
}
"""Training defaults per model size: ``small`` trains on a CPU in about 15 minutes, ``large``
is meant for a GPU (transformer 384 wide, 8 layers; windows of 64 steps, 256 atoms)."""


def count_channels(files: list[Path]) -> int:
    """The most channels any of the files has (audio header or ``.atoms`` header)."""
    import soundfile as sf

    from atomsynth.rt.atomfile import load

    most = 1
    for f in files:
        try:
            ch = load(f).channels if f.suffix.lower() == ".atoms" else sf.info(str(f)).channels
        except (RuntimeError, OSError) as exc:
            raise AtomsynthError(f"{f}: cannot read ({exc})") from None
        most = max(most, int(ch))
    return most


def set_threads(n: int) -> None:
    torch.set_num_threads(max(1, int(n)))


def save_checkpoint(folder: Path, config: dict, state: dict) -> None:
    """``config.json`` and ``model.pt`` (plain state dicts) into ``folder``, atomically."""
    import io

    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(folder / "model.pt", buf.getvalue())
    atomic_write_bytes(folder / "config.json", json.dumps(config, indent=2).encode())


def load_checkpoint(folder: str | Path, *, device: str = "cpu") -> tuple[AtomLM, dict, dict]:
    """(model in eval mode, config dict, state dict) from a checkpoint folder."""
    folder = Path(folder)
    if not (folder / "config.json").is_file() or not (folder / "model.pt").is_file():
        raise AtomsynthError(f"{folder}: not a checkpoint folder (needs config.json and "
                             "model.pt; train one with `atomsynth lm train`)")
    try:
        config = json.loads((folder / "config.json").read_text())
        state = torch.load(folder / "model.pt", map_location=device, weights_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise AtomsynthError(f"{folder}: cannot read the checkpoint ({exc})") from None
    try:
        model = AtomLM(ModelConfig.from_dict(config["model"])).to(device)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise AtomsynthError(f"{folder}: the checkpoint does not match its config ({exc})"
                             ) from None
    model.eval()
    return model, config, state


def prepare_tokens(files: list[Path], tokenizer, *, max_atoms: int, order: str = "velocity",
                   progress=None) -> list[TokenSet]:
    """Pruned, loudest-first token sets of the files (audio atomized at the model's scale)."""
    out = []
    scale = getattr(tokenizer, "scale", 1024)
    rng_db = getattr(tokenizer, "range_db", 96.0)
    for i, f in enumerate(files):
        atom_set = load_atom_set(f, scale=scale, range_db=rng_db)
        out.append(prune_per_frame(tokenizer.encode(atom_set, order="velocity"), max_atoms))
        if progress is not None:
            progress((i + 1) / len(files))
    return out


def split_files(files: list[Path], holdout: tuple[str, ...]) -> tuple[list[Path], list[Path]]:
    held = [f for f in files if f.stem in holdout]
    train = [f for f in files if f.stem not in holdout]
    if not train:
        raise AtomsynthError("every file is held out; nothing left to train on")
    return train, held


def marginals(token_sets: list[TokenSet], cards: tuple[int, ...], *, window_frames: int,
              max_atoms: int) -> list[list[float]]:
    """Per-feature value distribution over the training windows (add-one smoothed)."""
    wins = fixed_windows(token_sets, window_frames=window_frames, max_atoms=max_atoms)
    allv = np.concatenate(wins) if wins else np.zeros((0, len(cards)), dtype=np.int64)
    out = []
    for f, c in enumerate(cards):
        h = np.bincount(allv[:, f], minlength=c)[:c].astype(np.float64) + 1.0
        out.append((h / h.sum()).tolist())
    return out


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def validation_batches(token_sets: list[TokenSet], schema, cfg: TrainConfig, *,
                       seed: int = 1234, batch: int = 32):
    """Fixed (seeded) held-out batches: every window with every task's mask."""
    wins = fixed_windows(token_sets, window_frames=cfg.window_frames, max_atoms=cfg.max_atoms,
                         order=cfg.order)
    rng = np.random.default_rng(seed)
    roles = {r: schema.role_index(r) for r in ("time", "freq", "velocity")}
    items = [(w, task_mask(w, task, schema.cards, roles, rng)) for w in wins for task in TASKS]
    for i in range(0, len(items), batch):
        chunk = items[i:i + batch]
        yield collate([c[0] for c in chunk], [c[1] for c in chunk], cfg.max_atoms)


@torch.no_grad()
def validate(model: AtomLM, batches, device: str) -> tuple[float, np.ndarray]:
    """Mean CE per feature over masked features of the batches (nats): (mean, per-feature)."""
    model.eval()
    n_feat = len(model.config.cards)
    tot, cnt = np.zeros(n_feat), np.zeros(n_feat)
    for v, m, p in batches:
        v, m, p = (torch.from_numpy(a).to(device) for a in (v, m, p))
        logits = model(v, m, p)
        target = m & ~p[..., None]
        for f, lg in enumerate(logits):
            sel = target[..., f]
            if sel.any():
                tot[f] += float(torch.nn.functional.cross_entropy(
                    lg[sel], v[..., f][sel], reduction="sum"))
                cnt[f] += int(sel.sum())
    model.train()
    per = tot / np.maximum(cnt, 1)
    return float(tot.sum() / max(cnt.sum(), 1)), per


def train(data: str | Path, out: str | Path, *, cfg: TrainConfig | None = None,
          resume: bool = False, steps: int | None = None, device: str = "cpu",
          threads: int = 1, max_minutes: float | None = None, progress: bool = True,
          log=print) -> dict:
    """Train (or resume) a model on a folder of audio / ``.atoms`` files.

    With ``resume`` the settings saved in ``out/config.json`` are used (``cfg`` is ignored)
    except ``steps``, which may raise the total number of steps of the run.

    Returns the final config dict (with the loss history and validation figures).
    """
    out = Path(out)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"device = {device!r} but CUDA is not available; use --device cpu")
    set_threads(threads)
    state = None
    if resume:
        if not (out / "model.pt").is_file():
            raise AtomsynthError(f"{out}: nothing to resume (no model.pt)")
        _, saved, state = load_checkpoint(out, device=device)
        cfg = TrainConfig(**{**saved["train"], "holdout": tuple(saved["train"]["holdout"]),
                             "copy_features": tuple(saved["train"].get("copy_features", ()))})
        if steps is not None:
            cfg.steps = int(steps)
    cfg = cfg or TrainConfig()
    if steps is not None and not resume:
        cfg.steps = int(steps)
    if cfg.size not in PRESETS:
        raise ParameterError(f"size = {cfg.size!r} is not one of {tuple(PRESETS)}")
    torch.manual_seed(cfg.seed)
    files = list_inputs(data)
    if state is None:
        cfg.channels = count_channels(files)
    tokenizer = make_tokenizer(cfg.tokenizer_config())
    schema = tokenizer.schema
    train_files, held_files = split_files(files, cfg.holdout)
    with ProgressBar("lm: reading data", enabled=progress) as bar:
        train_sets = prepare_tokens(train_files, tokenizer, max_atoms=cfg.max_atoms, progress=bar)
    held_sets = prepare_tokens(held_files, tokenizer, max_atoms=cfg.max_atoms)
    overrides = dict(cfg.model_overrides)
    names = [n for n in overrides.pop("copy_features", cfg.copy_features)
             if n in schema.names or cfg.family == "mdct"]  # "bin" means nothing to resonant
    unknown = [n for n in names if n not in schema.names]
    if unknown:
        raise ParameterError(f"copy features {unknown} are not features of {schema.names}")
    overrides["copy_heads"] = tuple(schema.names.index(n) for n in names)
    if state is not None:
        mcfg = ModelConfig.from_dict(saved["model"])
    else:
        mcfg = ModelConfig(schema.cards, max_atoms=cfg.max_atoms,
                           **{**PRESETS[cfg.size], **overrides})
    model = AtomLM(mcfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, history = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
        history = [list(h) for h in state.get("history", [])]
    model.train()
    sampler = WindowSampler(train_sets, window_frames=cfg.window_frames,
                            max_atoms=cfg.max_atoms, order=cfg.order, seed=cfg.seed + step)
    val = list(validation_batches(held_sets, schema, cfg)) if held_sets else []
    freq_i = schema.role_index("freq")
    wins = fixed_windows(train_sets, window_frames=cfg.window_frames, max_atoms=cfg.max_atoms)
    freq_hist = np.bincount(np.concatenate(wins)[:, freq_i],
                            minlength=schema.cards[freq_i]).tolist()
    config = {
        "version": 1, "tokenizer": tokenizer.config(), "model": mcfg.to_dict(),
        "train": {**cfg.__dict__, "holdout": list(cfg.holdout)},
        "schema": {"names": list(schema.names), "cards": list(schema.cards),
                   "roles": schema.roles},
        "files": {"train": [f.name for f in train_files], "held_out": [f.name for f in held_files]},
        "marginals": marginals(train_sets, schema.cards, window_frames=cfg.window_frames,
                               max_atoms=cfg.max_atoms),
        "freq_hist": freq_hist,
        "atoms_per_window": float(np.mean([len(w) for w in wins])),
    }

    def snapshot() -> None:
        save_checkpoint(out, config, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                      "step": step, "history": history})

    t0 = time.perf_counter()
    deadline = t0 + max_minutes * 60 if max_minutes else None
    start_step = step
    run_loss = None
    with ProgressBar(f"lm train ({device})", enabled=progress) as bar:
        while step < cfg.steps:
            if deadline is not None and time.perf_counter() > deadline:
                log(f"stopping at step {step}: --max-minutes {max_minutes} reached")
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg)
            v, m, p = (torch.from_numpy(a).to(device) for a in sampler.batch(cfg.batch_size))
            logits = model(v, m, p)
            loss, ce = model.loss(logits, v, m, p)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            ce_mean = float(ce.mean())
            run_loss = ce_mean if run_loss is None else 0.98 * run_loss + 0.02 * ce_mean
            if step % 25 == 0 or step == cfg.steps:
                history.append([step, float(loss.detach()), run_loss])
            bar((step - start_step) / max(cfg.steps - start_step, 1),
                f"step {step}/{cfg.steps} CE {run_loss:.3f}")
            if step % cfg.checkpoint_every == 0:
                if val:
                    vl, _ = validate(model, val, device)
                    history.append([step, -1.0, vl])  # -1 marks a validation entry
                snapshot()
    elapsed = time.perf_counter() - t0
    if val:
        vl, per = validate(model, val, device)
        config["validation"] = {"step": step, "mean_ce": vl,
                                "per_feature_ce": dict(zip(schema.names, per.tolist(),
                                                           strict=True))}
    config["elapsed_s_last_run"] = elapsed
    config["steps_done"] = step
    config["threads"] = threads
    config["device"] = device
    snapshot()
    return config
