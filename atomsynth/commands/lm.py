"""``atomsynth lm``: the atom language model (train, locate, inpaint, continue, extend-band,
evaluate).

Examples::

    atomsynth lm train tests/data -o runs/lm
    atomsynth lm inpaint runs/lm tests/data/harp.flac --start-s 1.0 --end-s 1.3 -o harp.atoms
    atomsynth render harp.atoms -o harp.wav
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from atomsynth.rt.errors import ParameterError


def _positive(kind):
    def parse(text: str):
        try:
            x = kind(text)
        except ValueError:
            raise ParameterError(f"{text!r} is not a number") from None
        return x
    return parse


def _add_infer_common(p, *, what: str) -> None:
    p.add_argument("checkpoint", help="checkpoint folder written by `atomsynth lm train`")
    p.add_argument("input", help="audio file (atomized at the model's scale) or .atoms file")
    p.add_argument("-o", "--output", default=None,
                   help=f"output .atoms file; default out/<name>.{what}.atoms")
    p.add_argument("--wav", default=None, help="also render the result to this WAV/FLAC file")
    p.add_argument("--steps", type=int, default=12,
                   help="decoding rounds per window (default 12)")
    p.add_argument("--temperature", type=float, default=0.8,
                   help="sampling temperature (default 0.8; smaller is more conservative)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="lm_command", metavar="TASK")
    p = sub.add_parser("train", help="train (or resume) a model on a folder of audio/.atoms")
    p.add_argument("data", help="folder of audio (.flac/.wav) or .atoms files")
    p.add_argument("-o", "--output", default="runs/lm", help="checkpoint folder (default runs/lm)")
    p.add_argument("--size", default="small", choices=("tiny", "small", "large"),
                   help="model size: small (CPU default), large (GPU), tiny (tests)")
    p.add_argument("--steps", type=int, default=None,
                   help="training steps (default: small 2500, large 20000)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per step (default: small 16, large 64)")
    p.add_argument("--lr", type=float, default=None,
                   help="peak learning rate (default: small 2e-3, large 5e-4)")
    p.add_argument("--window-frames", type=int, default=None,
                   help="time steps per window (default: small 32, large 64)")
    p.add_argument("--max-atoms", type=int, default=None,
                   help="loudest atoms kept per window (default: small 128, large 256)")
    p.add_argument("--scale", type=int, default=None, help="MDCT scale 2N (default 1024)")
    p.add_argument("--family", default=None, choices=("mdct", "resonant"),
                   help="atom family the model reads (default mdct)")
    p.add_argument("--holdout", default=None,
                   help="comma-separated file stems held out for evaluation "
                        "(default harp,violin)")
    p.add_argument("--seed", type=int, default=None, help="seed (default 0)")
    p.add_argument("--copy-features", default=None,
                   help="comma-separated features given pointer-generator copy heads, or "
                        "'none' (default: bin for MDCT models)")
    p.add_argument("--checkpoint-every", type=int, default=None,
                   help="steps between checkpoints (default 250)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --output from its last checkpoint, with its saved "
                        "settings (--steps may raise the total)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop (and save) after this many minutes")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("locate", help="keep velocities, predict time, frequency, sign, channel")
    _add_infer_common(p, what="locate")
    p.add_argument("--anchors", type=int, default=0,
                   help="loudest atoms per window kept fully known (default 0)")

    p = sub.add_parser("inpaint", help="fill a time span with generated atoms")
    _add_infer_common(p, what="inpaint")
    p.add_argument("--start-s", type=float, required=True, help="span start in seconds")
    p.add_argument("--end-s", type=float, required=True, help="span end in seconds")
    p.add_argument("--spread-time", action="store_true",
                   help="spread the new atoms evenly over the span (default: the model places "
                        "them)")

    p = sub.add_parser("continue", help="extend an atom set past its end")
    _add_infer_common(p, what="continue")
    p.add_argument("--seconds", type=float, required=True, help="seconds to add")
    p.add_argument("--spread-time", action="store_true",
                   help="spread the new atoms evenly in time (default: the model places them)")

    p = sub.add_parser("extend-band", help="predict the atoms above a cut-off frequency")
    _add_infer_common(p, what="extend-band")
    p.add_argument("--cutoff-hz", type=float, required=True,
                   help="atoms at or above this frequency are replaced by predictions")

    p = sub.add_parser("evaluate", help="accuracy/NLL and audio quality against baselines")
    p.add_argument("checkpoint", help="checkpoint folder")
    p.add_argument("data", help="the training data folder (held-out files are taken from it)")
    p.add_argument("-o", "--output", default=None,
                   help="write the results here (.json; a .md table is written beside it)")
    p.add_argument("--no-audio", action="store_true", help="token metrics only")
    p.add_argument("--plot", default=None,
                   help="also draw the training curve with the baselines' NLL to this PNG")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    cmd = getattr(args, "lm_command", None)
    if cmd is None:
        print("usage: atomsynth lm {train,locate,inpaint,continue,extend-band,evaluate} ...",
              file=sys.stderr)
        return 2
    if getattr(args, "threads", 1) < 1:
        raise ParameterError(f"--threads = {args.threads} must be >= 1")
    if cmd == "train":
        return _train(args)
    if cmd == "evaluate":
        return _evaluate(args)
    return _infer(args, cmd)


def _train(args) -> int:
    from atomsynth.offline.lm.train import TrainConfig, train

    cfg = TrainConfig.for_size(args.size)
    for name in ("steps", "batch_size", "lr", "window_frames", "max_atoms", "scale", "family",
                 "seed", "checkpoint_every"):
        val = getattr(args, name)
        if val is not None:
            setattr(cfg, name, val)
    if args.copy_features:
        cfg.copy_features = tuple(s for s in args.copy_features.split(",")
                                  if s and s != "none")
    if args.holdout is not None:
        cfg.holdout = tuple(s for s in args.holdout.split(",") if s)
    for name in ("steps", "batch_size", "window_frames", "max_atoms", "checkpoint_every"):
        if getattr(cfg, name) < 1:
            raise ParameterError(f"--{name.replace('_', '-')} = {getattr(cfg, name)} must be >= 1")
    if cfg.max_atoms > 4096:
        raise ParameterError(f"--max-atoms = {cfg.max_atoms} is out of range; allowed [1, 4096]")
    if not 0 < cfg.lr < 1:
        raise ParameterError(f"--lr = {cfg.lr} is out of range; allowed (0, 1)")
    result = train(args.data, args.output, cfg=cfg, resume=args.resume,
                   steps=args.steps if args.resume else None, device=args.device,
                   threads=args.threads, max_minutes=args.max_minutes,
                   progress=not args.quiet)
    v = result.get("validation")
    msg = (f"trained {result['steps_done']} steps in {result['elapsed_s_last_run']:.0f} s "
           f"({args.device}, {args.threads} thread(s)); checkpoint in {args.output}")
    if v:
        per = ", ".join(f"{k} {x:.2f}" for k, x in v["per_feature_ce"].items())
        msg += f"\nheld-out masked CE {v['mean_ce']:.3f} nats ({per})"
    print(msg)
    return 0


def _infer(args, cmd: str) -> int:
    import torch

    from atomsynth.offline.lm.data import load_atom_set
    from atomsynth.offline.lm.infer import Predictor, Sampling
    from atomsynth.offline.lm.tokenizer import make_tokenizer
    from atomsynth.offline.lm.train import load_checkpoint
    from atomsynth.rt.atomfile import save
    from atomsynth.rt.progress import ProgressBar

    if args.steps < 1:
        raise ParameterError(f"--steps = {args.steps} must be >= 1")
    if not 0 < args.temperature <= 10:
        raise ParameterError(f"--temperature = {args.temperature} is out of range; allowed "
                             "(0, 10]")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"--device {args.device}: CUDA is not available; use --device cpu")
    torch.set_num_threads(args.threads)
    model, config, _ = load_checkpoint(args.checkpoint, device=args.device)
    tok = make_tokenizer(config["tokenizer"])
    atom_set = load_atom_set(args.input, scale=getattr(tok, "scale", 1024),
                             range_db=getattr(tok, "range_db", 96.0))
    tokens = tok.encode(atom_set)
    if len(tokens) == 0:
        raise ParameterError(f"{args.input}: no atoms the model reads "
                             f"({config['tokenizer']})")
    sr = atom_set.sample_rate
    step_s = tok.frame_seconds(sr)
    pred = Predictor(model, config, sampling=Sampling(args.steps, args.temperature, args.seed),
                     device=args.device, spread_time=getattr(args, "spread_time", False))
    dur = atom_set.length_s
    with ProgressBar(f"lm {cmd}", enabled=not args.quiet) as bar:
        if cmd == "locate":
            if args.anchors < 0:
                raise ParameterError(f"--anchors = {args.anchors} must be >= 0")
            result = pred.locate(tokens, anchors=args.anchors, progress=bar)
        elif cmd == "inpaint":
            if not 0 <= args.start_s < args.end_s <= dur + 1e-9:
                raise ParameterError(f"--start-s {args.start_s} / --end-s {args.end_s}: need "
                                     f"0 <= start < end <= {dur:.3f} s (the input's length)")
            a, b = round(args.start_s / step_s), max(round(args.end_s / step_s),
                                                     round(args.start_s / step_s) + 1)
            result = pred.inpaint(tokens, a, b, progress=bar)
        elif cmd == "continue":
            if not 0 < args.seconds <= 600:
                raise ParameterError(f"--seconds = {args.seconds} is out of range; allowed "
                                     "(0, 600]")
            n_new = max(1, round(args.seconds / step_s))
            result = pred.continue_(tokens, n_new, progress=bar)
            dur = dur + args.seconds
        else:
            nyq = sr / 2
            if not 0 < args.cutoff_hz < nyq:
                raise ParameterError(f"--cutoff-hz = {args.cutoff_hz} is out of range; allowed "
                                     f"(0, {nyq:g}) Hz")
            cut = tok.freq_token(args.cutoff_hz, sr)
            card = config["schema"]["cards"][config["schema"]["names"].index(
                config["schema"]["roles"]["freq"])]
            if not 0 < cut < card:
                raise ParameterError(f"--cutoff-hz = {args.cutoff_hz} maps to token {cut}; "
                                     f"allowed tokens [1, {card - 1}]")
            result = pred.extend_band(tokens, cut, progress=bar)
    result.meta["provenance"] = {"task": cmd, "source": Path(args.input).name,
                                 "checkpoint": str(args.checkpoint)}
    out_set = tok.decode(result, duration_s=dur)
    out = Path(args.output) if args.output else Path("out") / f"{Path(args.input).stem}.{cmd}.atoms"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbytes = save(out_set, out)
    print(f"wrote {out}: {out_set.n_atoms} atoms ({len(tokens)} read), {dur:.2f} s, "
          f"{nbytes} bytes")
    if args.wav:
        from atomsynth.rt.audio_io import write_audio
        from atomsynth.rt.reference import render

        write_audio(args.wav, render(out_set), out_set.sample_rate)
        print(f"wrote {args.wav}")
    return 0


def _evaluate(args) -> int:
    from atomsynth.offline.lm.evaluate import run_evaluation

    result, md = run_evaluation(args.checkpoint, args.data, device=args.device,
                                threads=args.threads, audio=not args.no_audio,
                                progress=not args.quiet)
    print(md)
    if args.output:
        from atomsynth.rt.atomic import write_bytes_atomic as atomic_write_bytes

        out = Path(args.output)
        atomic_write_bytes(out, json.dumps(result, indent=2).encode())
        atomic_write_bytes(out.with_suffix(".md"), (md + "\n").encode())
        print(f"wrote {out} and {out.with_suffix('.md')}")
    if args.plot:
        from atomsynth.offline.lm.plot import loss_curve_png
        from atomsynth.offline.lm.train import load_checkpoint

        _, _, state = load_checkpoint(args.checkpoint)
        per = result["tokens"]["per_feature"]
        loss_curve_png(state.get("history", []), args.plot,
                       reference={"marginal NLL": per["marginal"]["all"]["nll"],
                                  "nearest-copy NLL": per["nn_copy"]["all"]["nll"]},
                       title="atom LM: mean masked cross-entropy per feature (nats); "
                             "dots: held-out")
        print(f"wrote {args.plot}")
    return 0
