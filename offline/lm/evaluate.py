"""Evaluation of the atom language model against baselines.

Token level, on the held-out files: every window (stride W/2) with one mask of every task
(seeded), scored on the masked features only:

- *model*: the model's distribution for each masked feature (one forward pass);
- *marginal*: each feature's value distribution over the training windows;
- *nearest-neighbour copy*: the value of the context atom (that feature known) closest to the
  masked atom in its known features (L1 over features scaled by cardinality; ties, and atoms
  with nothing known, go to the nearest position in the sequence). As a distribution:
  ``(1 - eps) [v = copy] + eps * marginal(v)``, ``eps`` per feature fitted on training windows.

Accuracy is the share of masked features whose most likely value is the true one; NLL is the
mean negative log-likelihood in nats.

Audio level: ``inpaint`` (gaps) and ``extend-band`` (cut-off) on the held-out files, log-mel
distance (:mod:`atomsynth.offline.quality`) to the original audio, against silence (no atoms) and a
nearest-frame copy (each missing step copies the atoms of the nearest known step, inpaint;
the band just under the cut-off shifted up, extend-band), with the same atom budget.
"""

from __future__ import annotations

import numpy as np
import torch

from atomsynth.offline.lm.data import TASKS, collate, fixed_windows, task_mask
from atomsynth.offline.lm.tokenizer import Schema


def nn_copy(values: np.ndarray, mask: np.ndarray, cards: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour copy prediction (n, F) for one window (-1 where no candidate)."""
    n, n_feat = values.shape
    known = ~mask
    c = np.asarray(cards, dtype=np.float64)
    diff = np.abs(values[:, None, :] - values[None, :, :]) / c
    both = known[:, None, :] & known[None, :, :]
    d = (diff * both).sum(-1) + 1e-6 * np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    np.fill_diagonal(d, np.inf)
    pred = np.full((n, n_feat), -1, dtype=np.int64)
    for f in range(n_feat):
        df = np.where(known[None, :, f], d, np.inf)
        j = np.argmin(df, axis=1)
        ok = np.isfinite(df[np.arange(n), j])
        pred[ok, f] = values[j[ok], f]
    return pred


def _items(windows, schema: Schema, seed: int):
    rng = np.random.default_rng(seed)
    roles = {r: schema.role_index(r) for r in ("time", "freq", "velocity")}
    return [(task, w, task_mask(w, task, schema.cards, roles, rng))
            for w in windows for task in TASKS]


def fit_copy_eps(train_windows, schema: Schema, marg: list[np.ndarray], seed: int = 99
                 ) -> np.ndarray:
    """Per-feature mixture weight of the copy baseline that maximizes training likelihood."""
    items = _items(train_windows, schema, seed)
    grid = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99])
    eps = np.zeros(schema.n_features)
    for f in range(schema.n_features):
        hit, m = [], []
        for _, w, mk in items:
            p = nn_copy(w, mk, schema.cards)
            sel = mk[:, f]
            hit.append(p[sel, f] == w[sel, f])
            m.append(marg[f][w[sel, f]])
        hit, m = np.concatenate(hit), np.concatenate(m)
        ll = [np.mean(np.log((1 - e) * hit + e * m)) for e in grid]
        eps[f] = grid[int(np.argmax(ll))]
    return eps


@torch.no_grad()
def token_metrics(model, config: dict, held_sets, train_sets, *, seed: int = 1234,
                  device: str = "cpu", batch: int = 32) -> dict:
    """Per-task and per-feature accuracy and NLL of model and baselines (see module doc)."""
    sc = config["schema"]
    schema = Schema(config["tokenizer"]["family"], tuple(sc["names"]), tuple(sc["cards"]),
                    dict(sc["roles"]))
    w, k = int(config["train"]["window_frames"]), int(config["model"]["max_atoms"])
    order = config["train"].get("order", "velocity")
    marg = [np.asarray(m) for m in config["marginals"]]
    train_w = fixed_windows(train_sets, window_frames=w, max_atoms=k, order=order)
    eps = fit_copy_eps(train_w, schema, marg)
    held_w = fixed_windows(held_sets, window_frames=w, max_atoms=k, order=order)
    items = _items(held_w, schema, seed)
    names = schema.names
    rec = {m: {t: {f: [[], []] for f in names} for t in TASKS}
           for m in ("model", "marginal", "nn_copy")}
    model.eval()
    for i in range(0, len(items), batch):
        chunk = items[i:i + batch]
        v, mk, pad = collate([c[1] for c in chunk], [c[2] for c in chunk], k)
        logits = model(*(torch.from_numpy(a).to(device) for a in (v, mk, pad)))
        logp = [torch.log_softmax(lg, -1).cpu().numpy() for lg in logits]
        for b, (task, win, m) in enumerate(chunk):
            n = len(win)
            copy = nn_copy(win, m, schema.cards)
            for f, name in enumerate(names):
                sel = np.flatnonzero(m[:, f])
                if sel.size == 0:
                    continue
                true = win[sel, f]
                lp = logp[f][b, sel]
                r = rec["model"][task][name]
                r[0].append(lp.argmax(-1) == true)
                r[1].append(-lp[np.arange(sel.size), true])
                r = rec["marginal"][task][name]
                r[0].append(np.full(sel.size, marg[f].argmax()) == true)
                r[1].append(-np.log(marg[f][true]))
                cp = copy[sel, f]
                cp = np.where(cp < 0, marg[f].argmax(), cp)
                r = rec["nn_copy"][task][name]
                r[0].append(cp == true)
                r[1].append(-np.log((1 - eps[f]) * (cp == true) + eps[f] * marg[f][true]))
            del n
    out: dict = {"copy_eps": dict(zip(names, eps.tolist(), strict=True)),
                 "n_windows": len(held_w), "per_task": {}, "per_feature": {}}
    for meth, per_task in rec.items():
        out["per_task"][meth] = {}
        allf = {f: [[], []] for f in names}
        for task, per_f in per_task.items():
            acc_all, nll_all = [], []
            for f, (a, nl) in per_f.items():
                allf[f][0] += a
                allf[f][1] += nl
                acc_all += a
                nll_all += nl
            out["per_task"][meth][task] = _summ(acc_all, nll_all)
        out["per_feature"][meth] = {f: _summ(*allf[f]) for f in names}
        acc = [x for f in names for x in allf[f][0]]
        nll = [x for f in names for x in allf[f][1]]
        out["per_feature"][meth]["all"] = _summ(acc, nll)
    return out


def _summ(acc, nll) -> dict:
    if not acc:
        return {"acc": float("nan"), "nll": float("nan"), "n": 0}
    a, n = np.concatenate(acc), np.concatenate(nll)
    return {"acc": float(a.mean()), "nll": float(n.mean()), "n": int(a.size)}


def metrics_markdown(m: dict) -> str:
    """The token metrics as Markdown tables."""
    meths = ("model", "marginal", "nn_copy")
    lines = ["| feature | " + " | ".join(f"{x} acc | {x} NLL" for x in meths) + " |",
             "| --- |" + " --- | --- |" * len(meths)]
    for f in m["per_feature"]["model"]:
        cells = [f"{m['per_feature'][x][f]['acc']:.3f} | {m['per_feature'][x][f]['nll']:.3f}"
                 for x in meths]
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines += ["", "| task (all features) | " + " | ".join(f"{x} acc | {x} NLL" for x in meths)
              + " |", "| --- |" + " --- | --- |" * len(meths)]
    for t in m["per_task"]["model"]:
        cells = [f"{m['per_task'][x][t]['acc']:.3f} | {m['per_task'][x][t]['nll']:.3f}"
                 for x in meths]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- audio level
def copy_nearest_steps(known: np.ndarray, start: int, end: int, per_step: int, ti: int,
                       vi: int) -> np.ndarray:
    """Inpaint baseline: each step in [start, end) gets the ``per_step`` loudest atoms of the
    nearest known step (before ``start`` or at/after ``end``)."""
    t = known[:, ti]
    out = []
    before = t[t < start].max() if (t < start).any() else None
    after = t[t >= end].min() if (t >= end).any() else None
    for s in range(start, end):
        cands = [x for x in (before, after) if x is not None]
        if not cands:
            break
        src = min(cands, key=lambda x: abs(x - s))
        rows = known[t == src]
        rows = rows[np.argsort(-rows[:, vi], kind="stable")][:per_step].copy()
        rows[:, ti] = s
        out.append(rows)
    return np.concatenate(out) if out else np.zeros((0, known.shape[1]), np.int64)


def copy_band_up(known: np.ndarray, cutoff: int, card: int, budget_per_window: int,
                 window: int, ti: int, fi: int, vi: int) -> np.ndarray:
    """Extend-band baseline: the band [cutoff/2, cutoff) shifted up by cutoff/2 (nearest band
    copy), the ``budget_per_window`` loudest of it per window."""
    delta = max(cutoff // 2, 1)
    t = known[:, ti]
    out = []
    for ws in range(0, int(t.max()) + 1 if len(t) else 0, window):
        sel = known[(t >= ws) & (t < ws + window) & (known[:, fi] >= cutoff - delta)
                    & (known[:, fi] < cutoff)]
        sel = sel[np.argsort(-sel[:, vi], kind="stable")][:budget_per_window].copy()
        sel[:, fi] += delta
        out.append(sel[sel[:, fi] < card])
    return np.concatenate(out) if out else np.zeros((0, known.shape[1]), np.int64)


def audio_metrics(predictor, tokenizer, files, *, gap_s: float = 0.15, cutoff_hz: float = 4000.0,
                  progress=None) -> dict:
    """Mel distances of inpaint and extend-band vs silence and nearest-copy baselines.

    :func:`atomsynth.offline.quality.mel_distance` (log10 mel, lower is better) to the
    original audio. For each held-out audio file: three gaps of ``gap_s`` at 25, 50 and 75 %
    of its length (distance on the gap's samples) and one extend-band run at ``cutoff_hz``
    (distance on the whole file). ``oracle`` is all the true atoms (the tokenized original);
    ``oracle_budget`` the loudest true atoms in the region, as many as the model generated
    (what a perfect model of the loudest atoms would reach).
    """
    from atomsynth.offline.lm.data import load_atom_set
    from atomsynth.offline.quality import mel_distance
    from atomsynth.rt.audio_io import read_audio
    from atomsynth.rt.reference import render

    schema = predictor.schema
    ti, fi, vi = predictor.ti, predictor.fi, predictor.vi
    names = ("model", "silence", "copy", "oracle_budget", "oracle")
    res = {"inpaint": {k: [] for k in names}, "extend_band": {k: [] for k in names}}
    audio_files = [f for f in files if f.suffix.lower() != ".atoms"]
    for i, path in enumerate(audio_files):
        x, sr = read_audio(path)
        atom_set = load_atom_set(path, scale=tokenizer.scale, range_db=tokenizer.range_db)
        tokens = tokenizer.encode(atom_set)
        hop = tokenizer.hop
        vals = tokens.values
        t = vals[:, ti]

        def rend(v, _tokens=tokens, _dur=atom_set.length_s):
            return render(tokenizer.decode(_tokens.with_values(v), duration_s=_dur))

        g = max(1, round(gap_s * sr / hop))
        n = int(t.max()) + 1
        for frac in (0.25, 0.5, 0.75):
            a = int(frac * n) - g // 2
            b = a + g
            known = vals[(t < a) | (t >= b)]
            model_v = predictor.inpaint(tokens, a, b).values
            n_new = len(model_v) - len(known)
            per_step = max(1, round(n_new / g))
            copy_v = np.concatenate([known, copy_nearest_steps(known, a, b, per_step, ti, vi)])
            gap = vals[(t >= a) & (t < b)]
            top = np.concatenate([known, gap[np.argsort(-gap[:, vi], kind="stable")][:n_new]])
            s0, s1 = a * hop, b * hop
            for name, v in (("model", model_v), ("silence", known), ("copy", copy_v),
                            ("oracle_budget", top), ("oracle", vals)):
                y = rend(v)
                res["inpaint"][name].append(mel_distance(x[:, s0:s1], y[:, s0:s1], sr))
        cut = tokenizer.freq_token(cutoff_hz, sr)
        card = schema.cards[fi]
        low = vals[vals[:, fi] < cut]
        model_v = predictor.extend_band(tokens, cut).values
        n_windows = max(1, -(-n // predictor.w))
        budget = max(1, round((len(model_v) - len(low)) / n_windows))
        copy_v = np.concatenate([low, copy_band_up(low, cut, card, budget, predictor.w, ti, fi,
                                                   vi)])
        high = vals[vals[:, fi] >= cut]
        top = [low]
        for ws in range(0, n, predictor.w):
            h = high[(high[:, ti] >= ws) & (high[:, ti] < ws + predictor.w)]
            top.append(h[np.argsort(-h[:, vi], kind="stable")][:budget])
        top = np.concatenate(top)
        for name, v in (("model", model_v), ("silence", low), ("copy", copy_v),
                        ("oracle_budget", top), ("oracle", vals)):
            res["extend_band"][name].append(mel_distance(x, rend(v), sr))
        if progress is not None:
            progress((i + 1) / len(audio_files))
    return {task: {k: float(np.mean(v)) if v else float("nan") for k, v in d.items()}
            for task, d in res.items()} | {"gap_s": gap_s, "cutoff_hz": cutoff_hz,
                                           "files": [f.name for f in audio_files]}


def run_evaluation(checkpoint, data, *, device: str = "cpu", threads: int = 1,
                   audio: bool = True, progress: bool = True) -> tuple[dict, str]:
    """Token and audio metrics of a checkpoint on its held-out files: (results, Markdown)."""
    from atomsynth.offline.lm.data import list_inputs
    from atomsynth.offline.lm.infer import Predictor, Sampling
    from atomsynth.offline.lm.tokenizer import make_tokenizer
    from atomsynth.offline.lm.train import load_checkpoint, prepare_tokens, split_files
    from atomsynth.rt.errors import AtomsynthError
    from atomsynth.rt.progress import ProgressBar

    torch.set_num_threads(threads)
    model, config, _ = load_checkpoint(checkpoint, device=device)
    tok = make_tokenizer(config["tokenizer"])
    files = list_inputs(data)
    train_files, held = split_files(files, tuple(config["train"]["holdout"]))
    if not held:
        raise AtomsynthError(f"{data}: none of the held-out files "
                             f"{config['train']['holdout']} is there")
    k = int(config["model"]["max_atoms"])
    held_sets = prepare_tokens(held, tok, max_atoms=k)
    train_sets = prepare_tokens(train_files, tok, max_atoms=k)
    result = {"checkpoint": str(checkpoint), "held_out": [f.name for f in held],
              "steps": config.get("steps_done"),
              "tokens": token_metrics(model, config, held_sets, train_sets, device=device)}
    md = "Token level (held-out " + ", ".join(f.name for f in held) + ", masked features):\n\n"
    md += metrics_markdown(result["tokens"])
    if audio and config["tokenizer"]["family"] == "mdct":
        pred = Predictor(model, config, sampling=Sampling(), device=device)
        with ProgressBar("lm evaluate (audio)", enabled=progress) as bar:
            result["audio"] = am = audio_metrics(pred, tok, held, progress=bar)
        md += ("\n\nAudio level (mel distance of offline/quality.py, lower is better; "
               f"inpaint: 3 gaps of {am['gap_s']} s per file; extend-band: cut-off "
               f"{am['cutoff_hz']:g} Hz, whole file):\n\n"
               "| task | model | silence | nearest copy | oracle, same budget | oracle, all atoms |"
               "\n| --- | --- | --- | --- | --- | --- |\n")
        for task in ("inpaint", "extend_band"):
            r = am[task]
            md += (f"| {task.replace('_', '-')} | {r['model']:.2f} | {r['silence']:.2f} | "
                   f"{r['copy']:.2f} | {r['oracle_budget']:.2f} | {r['oracle']:.2f} |\n")
    return result, md
