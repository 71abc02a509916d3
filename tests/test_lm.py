"""The atom language model: tokenizer round trips, model shapes, masking, training, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from atomsynth.cli import main  # noqa: E402
from atomsynth.offline.lm.data import (  # noqa: E402
    TASKS,
    WindowSampler,
    prune_per_frame,
    task_mask,
)
from atomsynth.offline.lm.evaluate import nn_copy  # noqa: E402
from atomsynth.offline.lm.infer import Sampling, fill  # noqa: E402
from atomsynth.offline.lm.model import PRESETS, AtomLM, ModelConfig  # noqa: E402
from atomsynth.offline.lm.tokenizer import (  # noqa: E402
    MdctTokenizer,
    ResonantTokenizer,
    order_tokens,
)
from atomsynth.offline.lm.train import TrainConfig, load_checkpoint, train  # noqa: E402
from atomsynth.rt import AtomSet, MdctAtoms, ResonantAtoms  # noqa: E402
from atomsynth.rt.atomfile import load  # noqa: E402
from atomsynth.rt.audio_io import write_audio  # noqa: E402
from atomsynth.rt.errors import ParameterError as PErr  # noqa: E402

SR = 22050


def random_mdct_set(rng, n=500, scale=1024, channels=2) -> AtomSet:
    hop = scale // 2
    idx = rng.choice(40 * hop * channels, size=n, replace=False)
    ch, rest = np.divmod(idx, 40 * hop)
    frame, k = np.divmod(rest, hop)
    value = rng.choice([-1, 1], n) * 10 ** rng.uniform(-4, 0, n)
    atoms = MdctAtoms(n, scale=scale, frame=frame, bin=k, channel=ch, value=value)
    return AtomSet(sample_rate=SR, channels=channels, mdct=atoms)


def test_mdct_tokenizer_round_trip_exact_to_quantization(rng):
    tok = MdctTokenizer(scale=1024, window_frames=32, n_levels=64, range_db=96.0, channels=2)
    atom_set = random_mdct_set(rng)
    tokens = tok.encode(atom_set)
    assert tokens.values.shape == (500, 5)  # 80 dB span: nothing dropped
    for i, card in enumerate(tok.schema.cards):
        if tok.schema.names[i] != "frame":
            assert 0 <= tokens.values[:, i].min() and tokens.values[:, i].max() < card
    back = tok.decode(tokens)
    again = tok.encode(back)
    np.testing.assert_array_equal(again.values, tokens.values)  # tokens -> atoms -> tokens
    # atoms -> tokens -> atoms: same positions and signs, level within half a step
    key = lambda m: np.lexsort((m.bin, m.frame, m.channel))  # noqa: E731
    a, b = atom_set.mdct, back.mdct
    ia, ib = key(a), key(b)
    for name in ("frame", "bin", "channel"):
        np.testing.assert_array_equal(a[name][ia], b[name][ib])
    np.testing.assert_array_equal(np.sign(a.value[ia]), np.sign(b.value[ib]))
    err_db = np.abs(20 * np.log10(np.abs(b.value[ib]) / np.abs(a.value[ia])))
    assert err_db.max() <= 96.0 / 63 / 2 + 1e-9


def test_orderings(rng):
    tok = MdctTokenizer(scale=1024, channels=2)
    tokens = tok.encode(random_mdct_set(rng))
    v = tokens.values
    assert np.all(np.diff(v[:, 4]) <= 0)  # velocity: loudest first
    t = order_tokens(tokens, "time").values
    assert np.all(np.diff(t[:, 0]) >= 0)
    f = order_tokens(tokens, "frequency").values
    assert np.all(np.diff(f[:, 1]) >= 0)
    c = order_tokens(tokens, "channel").values
    assert np.all(np.diff(c[:, 2]) >= 0)
    # an ordering is a permutation
    assert sorted(map(tuple, t.tolist())) == sorted(map(tuple, v.tolist()))
    with pytest.raises(PErr, match="order"):
        order_tokens(tokens, "loudness")


def test_resonant_tokenizer_round_trip(rng):
    n = 200
    atoms = ResonantAtoms(
        onset_s=rng.uniform(0, 3, n), f0_hz=np.exp(rng.uniform(np.log(30), np.log(15000), n)),
        t60_s=np.exp(rng.uniform(np.log(0.01), np.log(30), n)), gain_db=rng.uniform(-90, 20, n),
        pan=rng.uniform(-1, 1, n), damping=rng.uniform(-2, 4, n),
        brightness=rng.uniform(0, 1, n), n_modes=rng.integers(1, 65, n),
        noise_hz=np.exp(rng.uniform(np.log(30), np.log(15000), n)),
        attack_s=np.exp(rng.uniform(np.log(2e-4), np.log(0.5), n)))
    tok = ResonantTokenizer(time_step_s=0.01, window_frames=64)
    tokens = tok.encode(AtomSet(sample_rate=SR, channels=2, resonant=atoms))
    back = tok.decode(tokens)
    np.testing.assert_array_equal(tok.encode(back).values, tokens.values)
    r = back.resonant
    order = np.lexsort(tuple(tokens.values.T[::-1]))  # align with the encoded order
    del order
    enc = tok.encode(AtomSet(sample_rate=SR, channels=2, resonant=atoms), order="none").values
    dec = tok.decode(tok.encode(AtomSet(sample_rate=SR, channels=2, resonant=atoms),
                                order="none")).resonant
    assert np.abs(dec.onset_s - atoms.onset_s).max() <= 0.005 + 1e-9
    cents = 1200 * np.abs(np.log2(dec.f0_hz / atoms.f0_hz))
    assert cents.max() <= 12.5 + 1e-6
    t60_ratio = np.abs(np.log(dec.t60_s / atoms.t60_s))
    assert t60_ratio.max() <= math.log(60 / 0.005) / 63 / 2 + 1e-9
    assert np.abs(dec.gain_db - atoms.gain_db).max() <= 0.5 + 1e-9
    assert np.abs(dec.pan - atoms.pan).max() <= 1 / 16 + 1e-9
    assert np.abs(dec.damping - atoms.damping).max() <= 0.125 + 1e-9
    np.testing.assert_array_equal(dec.n_modes, atoms.n_modes)
    assert enc.shape == (n, 10) and len(r) == n


def tiny_model(cards=(8, 16, 1, 2, 12), max_atoms=24, **kw) -> AtomLM:
    torch.manual_seed(0)
    return AtomLM(ModelConfig(cards, max_atoms=max_atoms, **{**PRESETS["tiny"], **kw})).eval()


def random_batch(rng, cards, b=3, length=24, n_pad=5):
    values = np.stack([rng.integers(0, c, (b, length)) for c in cards], -1)
    mask = rng.random(values.shape) < 0.4
    pad = np.zeros((b, length), bool)
    pad[:, length - n_pad:] = True
    return [torch.from_numpy(a) for a in (values, mask, pad)]


def test_model_shapes_and_loss(rng):
    cards = (8, 16, 1, 2, 12)
    model = tiny_model(cards)
    v, m, p = random_batch(rng, cards)
    logits = model(v, m, p)
    assert [tuple(lg.shape) for lg in logits] == [(3, 24, c) for c in cards]
    copying = tiny_model(cards, copy_heads=(0, 1, 4))
    out = copying(v, m, p)
    assert [tuple(lg.shape) for lg in out] == [(3, 24, c) for c in cards]
    for f in (0, 1, 4):  # copy features give log-probabilities of a proper mixture
        lg = out[f]
        torch.testing.assert_close(lg.exp().sum(-1), torch.ones(lg.shape[:2]), atol=1e-5,
                                   rtol=0)
    total, ce = model.loss(logits, v, m, p)
    # the uncertainty weighting: sum_f exp(-s_f) CE_f + s_f over features with masked entries
    with torch.no_grad():
        model.log_var.copy_(torch.tensor([0.5, -0.2, 0.0, 1.0, 0.3]))
    total, ce = model.loss(logits, v, m, p)
    target = m & ~p[..., None]
    manual = 0.0
    for f, lg in enumerate(logits):
        sel = target[..., f]
        if sel.any():
            cef = torch.nn.functional.cross_entropy(lg[sel], v[..., f][sel])
            s_f = float(model.log_var[f].detach())
            manual += math.exp(-s_f) * float(cef.detach()) + s_f
    assert float(total.detach()) == pytest.approx(manual, rel=1e-5)
    assert ce.shape == (5,)


@pytest.mark.parametrize("copy_heads", [(), (0, 1, 2, 3, 4)])
def test_masked_feature_never_leaks(rng, copy_heads):
    """Changing the true value of masked features (or of padding) leaves every logit as is."""
    cards = (8, 16, 3, 2, 12)
    model = tiny_model(cards, n_layers=2, copy_heads=copy_heads)
    v, m, p = random_batch(rng, cards)
    ref = model(v, m, p)
    v2 = v.clone()
    for f, c in enumerate(cards):
        noise = torch.from_numpy(rng.integers(0, c, v.shape[:2]))
        v2[..., f] = torch.where(m[..., f], noise, v2[..., f])
    v2[p] = 0
    assert not torch.equal(v, v2)
    out = model(v2, m, p)
    for a, b in zip(ref, out, strict=True):
        torch.testing.assert_close(a[~p], b[~p], rtol=0, atol=0)
    # and the test can fail: changing a known value does change the predictions
    v3 = v.clone()
    i = np.argwhere(~m.numpy() & ~p.numpy()[..., None])[0]
    v3[tuple(i)] = (v3[tuple(i)] + 1) % cards[i[2]]
    out3 = model(v3, m, p)
    assert any(not torch.equal(a[~p], b[~p]) for a, b in zip(ref, out3, strict=True))


def test_task_masks(rng):
    tok = MdctTokenizer(scale=1024, window_frames=32, channels=2)
    tokens = prune_per_frame(tok.encode(random_mdct_set(rng, n=2000)), 64)
    sampler = WindowSampler([tokens], window_frames=32, max_atoms=64, seed=3)
    roles = {"time": 0, "freq": 1, "velocity": 4}
    for _ in range(20):
        w = sampler.window()
        assert len(w) <= 64 and (w[:, 0] >= 0).all() and (w[:, 0] < 32).all()
        for task in TASKS:
            m = task_mask(w, task, tok.schema.cards, roles, rng)
            assert m.shape == w.shape and m.any()
            if task == "locate":
                assert not m[:, 4].any()
            if task in ("inpaint", "continue", "extend") and m.sum() > 1:
                rows = m.any(1)
                assert (m[rows].all(1)).all()  # whole atoms
            if task == "continue" and m.sum() > 1 and not m.all():
                assert w[m.any(1), 0].min() >= w[~m.any(1), 0].min()
    v, m, p = sampler.batch(4)
    assert v.shape == (4, 64, 5) and m.shape == (4, 64, 5) and p.shape == (4, 64)


def test_fill_respects_ranges_and_fills_everything(rng):
    cards = (8, 16, 1, 2, 12)
    model = tiny_model(cards)
    values = np.stack([rng.integers(0, c, 20) for c in cards], -1)
    mask = np.zeros_like(values, bool)
    mask[10:] = True
    lo = np.zeros_like(values)
    hi = np.broadcast_to(np.array(cards) - 1, values.shape).copy()
    lo[10:, 0], hi[10:, 0] = 5, 6
    lo[10:, 1] = 12
    out = fill(model, values, mask, lo=lo, hi=hi, sampling=Sampling(steps=4, seed=1),
               generator=torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(out[:10], values[:10])
    assert ((out[10:, 0] >= 5) & (out[10:, 0] <= 6)).all()
    assert (out[10:, 1] >= 12).all()
    for f, c in enumerate(cards):
        assert (out[:, f] >= 0).all() and (out[:, f] < c).all()


def test_nn_copy_baseline():
    values = np.array([[0, 5, 0, 0, 9], [1, 6, 0, 1, 3], [7, 20, 0, 0, 1]])
    mask = np.zeros_like(values, bool)
    mask[0, 1] = True  # atom 0's bin: nearest known atom in frame/sign/velocity is atom 1
    pred = nn_copy(values, mask, (8, 32, 1, 2, 12))
    assert pred[0, 1] == 6


def synth_clip(rng, seconds=1.5, sr=SR) -> np.ndarray:
    """Seeded decaying harmonic notes (a stand-in for an instrument recording)."""
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros_like(t)
    for onset in np.arange(0, seconds, 0.25):
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        env = np.where(t >= onset, np.exp(-(t - onset) * 6), 0.0)
        for h in range(1, 6):
            x += env * np.sin(2 * np.pi * f0 * h * (t - onset)) / h
    return 0.2 * x[None] / np.abs(x).max()


@pytest.fixture
def clip_folder(tmp_path, rng):
    folder = tmp_path / "data"
    for name in ("a", "b", "held"):
        write_audio(folder / f"{name}.wav", synth_clip(rng), SR)
    return folder


def test_short_training_lowers_the_loss(clip_folder, tmp_path):
    cfg = TrainConfig(size="tiny", scale=512, window_frames=16, max_atoms=32, batch_size=8,
                      steps=60, warmup=5, lr=3e-3, holdout=("held",), checkpoint_every=30)
    out = tmp_path / "ck"
    result = train(clip_folder, out, cfg=cfg, progress=False, log=lambda *a: None)
    assert result["steps_done"] == 60
    # held-out validation after training beats the untrained model on the same batches
    from atomsynth.offline.lm.train import (
        prepare_tokens,
        validate,
        validation_batches,
    )

    model, config, state = load_checkpoint(out)
    assert state["step"] == 60
    tok = MdctTokenizer(scale=512, window_frames=16)
    held = prepare_tokens([clip_folder / "held.wav"], tok, max_atoms=32)
    batches = list(validation_batches(held, tok.schema, cfg))
    fresh = AtomLM(ModelConfig.from_dict(config["model"])).eval()
    assert validate(model, batches, "cpu")[0] < validate(fresh, batches, "cpu")[0] - 0.1
    # resume continues the same run
    train(clip_folder, out, resume=True, steps=70, progress=False, log=lambda *a: None)
    _, config2, state2 = load_checkpoint(out)
    assert state2["step"] == 70 and config2["train"]["steps"] == 70
    assert config2["train"]["lr"] == cfg.lr  # the saved settings, not the defaults


def test_cli_train_then_tasks_write_playable_atoms(clip_folder, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert main(["lm", "train", str(clip_folder), "-o", str(ck), "--size", "tiny",
                 "--steps", "5", "--batch-size", "4", "--window-frames", "16",
                 "--max-atoms", "32", "--scale", "512", "--holdout", "held", "--quiet"]) == 0
    src = clip_folder / "held.wav"
    runs = {
        "inpaint": ["--start-s", "0.5", "--end-s", "0.7"],
        "continue": ["--seconds", "0.3", "--spread-time"],
        "extend-band": ["--cutoff-hz", "2000"],
        "locate": [],
    }
    for task, extra in runs.items():
        out = tmp_path / f"{task}.atoms"
        assert main(["lm", task, str(ck), str(src), "-o", str(out), "--steps", "3",
                     "--quiet", *extra]) == 0, task
        atom_set = load(out)
        assert len(atom_set.mdct) > 0
        assert main(["render", str(out), "-o", str(tmp_path / f"{task}.wav"), "--quiet"]) == 0
    inp = load(tmp_path / "inpaint.atoms").mdct
    hop = 256
    a, b = round(0.5 * SR / hop), round(0.7 * SR / hop)  # 17 steps: two chunks of a 16-window
    assert ((inp.frame >= a) & (inp.frame < (a + b) // 2)).any()
    assert ((inp.frame >= (a + b) // 2) & (inp.frame < b)).any()
    cont = load(tmp_path / "continue.atoms")
    assert cont.duration_s == pytest.approx(1.5 + 0.3, abs=1e-6)
    capsys.readouterr()
    assert main(["lm", "inpaint", str(ck), str(src), "--start-s", "1.0", "--end-s", "9"]) == 2
    assert "--end-s" in capsys.readouterr().err
    assert main(["lm", "inpaint", str(tmp_path / "nope"), str(src), "--start-s", "0",
                 "--end-s", "0.1"]) == 1
    assert "not a checkpoint" in capsys.readouterr().err
    assert main(["lm", "extend-band", str(ck), str(src), "--cutoff-hz", "20000"]) == 2
    assert "cutoff-hz" in capsys.readouterr().err
    # evaluation: tables, JSON, Markdown and the training-curve PNG
    ev = tmp_path / "eval.json"
    assert main(["lm", "evaluate", str(ck), str(clip_folder), "-o", str(ev), "--plot",
                 str(tmp_path / "curve.png"), "--quiet"]) == 0
    result = json.loads(ev.read_text())
    per = result["tokens"]["per_feature"]
    features = [f for f in per["model"] if f != "all"]
    _, config, _ = load_checkpoint(ck)
    marginals = [np.asarray(m) for m in config["marginals"]]
    for method in ("model", "marginal", "nn_copy"):
        scores = per[method]
        # every method is scored on the same masked entries, and "all" is their mean
        assert [scores[f]["n"] for f in features] == [per["model"][f]["n"] for f in features]
        n = np.array([scores[f]["n"] for f in features])
        assert scores["all"]["n"] == n.sum() > 0
        for key in ("acc", "nll"):
            mean = sum(scores[f][key] * scores[f]["n"] for f in features) / n.sum()
            # (the model's NLLs are float32: its means agree to float32 rounding)
            assert scores["all"][key] == pytest.approx(mean, rel=1e-6, abs=1e-12)
    for method in ("model", "marginal"):
        for f in features:
            # the prediction is the argmax of the scored distribution: a wrong guess had
            # probability <= 1/2, so the mean NLL is at least (1 - accuracy) ln 2
            acc, nll = per[method][f]["acc"], per[method][f]["nll"]
            assert 0.0 <= acc <= 1.0
            assert nll >= (1.0 - acc) * np.log(2.0) - 1e-9, (method, f)
    for f, marginal in zip(features, marginals, strict=True):
        # the marginal never gives the true value more than its largest probability
        assert per["marginal"][f]["nll"] >= -np.log(marginal.max()) - 1e-9, f
    assert per["marginal"]["channel"]["acc"] == 1.0  # one channel: always right
    assert per["marginal"]["channel"]["nll"] == pytest.approx(0.0, abs=1e-9)  # one channel
    for task in ("inpaint", "extend_band"):
        r = result["audio"][task]
        assert r["oracle"] <= min(r["silence"], r["model"], r["copy"]) + 1e-9
    assert "| inpaint |" in ev.with_suffix(".md").read_text()
    from PIL import Image

    with Image.open(tmp_path / "curve.png") as img:
        assert img.size == (900, 500)


def test_resonant_family_trains_and_inpaints(tmp_path, rng):
    from atomsynth.rt.atomfile import save

    folder = tmp_path / "res"
    folder.mkdir()
    for name in ("a", "b", "held"):
        n = 60
        atoms = ResonantAtoms(onset_s=np.sort(rng.uniform(0, 2.0, n)),
                              f0_hz=220 * 2 ** (rng.integers(0, 24, n) / 12),
                              t60_s=rng.uniform(0.2, 1.0, n), gain_db=rng.uniform(-30, 0, n),
                              n_modes=8)
        save(AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=2.5),
             folder / f"{name}.atoms")
    ck = tmp_path / "ck"
    assert main(["lm", "train", str(folder), "-o", str(ck), "--size", "tiny", "--family",
                 "resonant", "--steps", "5", "--holdout", "held", "--quiet"]) == 0
    out = tmp_path / "filled.atoms"
    assert main(["lm", "inpaint", str(ck), str(folder / "held.atoms"), "--start-s", "0.5",
                 "--end-s", "0.8", "-o", str(out), "--steps", "2", "--quiet"]) == 0
    res = load(out).resonant
    inside = (res.onset_s >= 0.5 - 1e-9) & (res.onset_s < 0.8)
    assert inside.any() and len(res) > 0
    src = load(folder / "held.atoms").resonant
    outside = ~((src.onset_s >= 0.495) & (src.onset_s < 0.795))
    assert len(res) >= outside.sum()  # the known atoms are kept
