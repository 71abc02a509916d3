"""``atomsynth render FILE -o out.wav [--stems DIR]``: offline rendering to audio files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from atomsynth.commands._common import add_file_argument, load_atoms
from atomsynth.commands.effects_args import add_effect_arguments, build_effects
from atomsynth.rt.audio_io import write_audio
from atomsynth.rt.errors import AtomsynthError, ParameterError
from atomsynth.rt.progress import ProgressBar
from atomsynth.rt.reference import render, render_stems
from atomsynth.rt.replay import render_stems_with_controls, render_with_controls, write_stems


def add_arguments(parser) -> None:
    add_file_argument(parser)
    parser.add_argument("-o", "--output", default=None,
                        help="mix file (.wav or .flac); default out/<name>.wav")
    parser.add_argument("--stems", metavar="DIR", default=None,
                        help="also write one file per group, plus mix, into DIR")
    parser.add_argument("--sample-rate", type=int, default=None,
                        help="output sample rate in Hz (default: the file's)")
    parser.add_argument("--duration", type=float, default=None,
                        help="output length in seconds (default: until the last atom ends)")
    parser.add_argument("--subtype", default=None,
                        help="soundfile subtype, e.g. PCM_16, PCM_24, FLOAT (default: FLOAT for "
                             "WAV, PCM_24 for FLAC)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--block-size", type=int, default=4096,
                        help="block size of the streaming path when effects are on (default "
                             "4096; the synthesizer's output does not depend on it, effects "
                             "see blocks of this size; 256 = as live playback)")
    parser.add_argument("--stream", action="store_true",
                        help="render a dry set through the streaming synthesizer (what "
                             "playback uses; much faster than the reference renderer) instead "
                             "of the reference renderer")
    parser.add_argument("--precision", choices=("float32", "float64"), default="float32",
                        help="streaming synthesizer: float32 ring-out re-anchored from float64 "
                             "(default, within ~1e-5 of the reference's peak) or float64 "
                             "throughout (~1e-12)")
    parser.add_argument("--session", default=None, metavar="FILE",
                        help="render with this session (NAME.atomsession.json: macros, group "
                             "mixer, rooms, inserts, as the app saved them); by default the "
                             "session beside the .atoms file is used when there is one")
    parser.add_argument("--no-session", action="store_true",
                        help="ignore the session file beside the .atoms file")
    parser.add_argument("--server", default=None, metavar="NAME",
                        help="render in the running audio server NAME (`atomsynth serve --name "
                             "NAME`), through its rooms and inserts (its hosted plugins too)")
    add_effect_arguments(parser)


def _render_with_effects(atom_set, fx, sr, args, bar):
    """Mix (and stems) through the effects bridge, as live playback renders
    (:mod:`atomsynth.rt.replay`): each stem through its own copy of the rooms and inserts, the
    mix the sum of the stems."""
    kw = dict(sample_rate=sr, n_rooms=len(atom_set.room_names),
              duration_s=args.duration or atom_set.length_s, block=args.block_size,
              precision=args.precision)
    if not args.stems:
        return None, render_with_controls(atom_set, effects=fx, progress=bar, **kw)
    stems = render_stems_with_controls(atom_set, atom_set.groups, effects=fx.clone,
                                       progress=bar, **kw)
    return stems, np.sum(list(stems.values()), axis=0)


def _find_session(args):
    """``(atoms_path, session_path or None)`` from the arguments (see ``--session``)."""
    from atomsynth.rt.session import SUFFIX, atoms_path_for, read_session, session_path_for

    if args.file and str(args.file).endswith(SUFFIX):
        if args.session:
            raise ParameterError("give the session either as FILE or as --session, not both")
        args.session = args.file
        args.file = str(atoms_path_for(args.file, read_session(args.file)))
    if args.session:
        return args.session
    if args.no_session or not args.file:
        return None
    beside = session_path_for(args.file)
    return beside if beside.is_file() else None


def _render_session(atom_set, session_path, sr, args, bar):
    """Mix (and stems: each audible group alone) as the app plays them with the session."""
    from atomsynth.rt.session import read_session, render_session

    session = read_session(session_path)
    base = Path(session_path).parent
    kw = dict(sample_rate=sr, duration_s=args.duration or atom_set.length_s, base_dir=base,
              precision=args.precision)
    mix, problems = render_session(atom_set, session, progress=bar, **kw)
    for p in problems:
        print(f"warning: {p}")
    stems = None
    if args.stems:
        stems = {}
        for g in (int(g) for g in atom_set.groups):
            sub = atom_set.replace(
                resonant=atom_set.resonant.select(atom_set.resonant.group == g),
                mdct=atom_set.mdct.select(atom_set.mdct.group == g))
            stems[g], _ = render_session(sub, session, **kw)
    return stems, mix


def _render_on_server(args) -> int:
    """``--server NAME``: the server renders the set through its own chain (the CLI's
    effect options and sessions do not apply)."""
    from atomsynth.rt.server.client import ServerClient

    if args.stems or args.effect or args.plugin or args.room_ir or args.dry or args.session:
        raise ParameterError("--server renders the mix through the server's own rooms and "
                             "inserts; leave out --stems, --session and the effect options")
    path, atom_set = load_atoms(args.file)
    try:
        client = ServerClient.connect(args.server)
    except AtomsynthError as exc:
        raise AtomsynthError(f"{exc}; start one with `atomsynth serve --name {args.server}` "
                             "or leave out --server") from None
    out = Path(args.output) if args.output else Path("out") / f"{path.stem}.wav"
    t0 = time.perf_counter()
    try:
        sr = args.sample_rate or client.server_info()["sample_rate"] or atom_set.sample_rate
        with ProgressBar(f"render {path.name} on {args.server}", enabled=not args.quiet) as bar:
            mix = client.render(atom_set, sample_rate=sr, duration_s=args.duration,
                                progress=bar)
    finally:
        client.close(shutdown=False)
    return _write(out, mix, None, atom_set, sr, args, time.perf_counter() - t0)


def run(args) -> int:
    if args.server:
        return _render_on_server(args)
    session_path = _find_session(args)
    if session_path is not None and (args.effect or args.plugin or args.room_ir or args.dry):
        raise ParameterError("--session (or the session beside the file) replaces the effect "
                             "options; use --no-session to give effects on the command line")
    path, atom_set = load_atoms(args.file)
    if session_path is not None:
        out = Path(args.output) if args.output else Path("out") / f"{path.stem}.wav"
        sr = args.sample_rate or atom_set.sample_rate
        print(f"session: {session_path}")
        t0 = time.perf_counter()
        with ProgressBar(f"render {path.name}", enabled=not args.quiet) as bar:
            stems, mix = _render_session(atom_set, session_path, sr, args, bar)
        return _write(out, mix, stems, atom_set, sr, args, time.perf_counter() - t0)
    out = Path(args.output) if args.output else Path("out") / f"{path.stem}.wav"
    sr = args.sample_rate or atom_set.sample_rate
    t0 = time.perf_counter()
    fx = build_effects(args, atom_set, sr)
    for err in fx.errors:
        print(f"warning: {err}")
    if fx.active or args.stream:
        # Same path as live playback: streaming synth + rooms + inserts, block by block.
        with ProgressBar(f"render {path.name}", enabled=not args.quiet) as bar:
            stems, mix = _render_with_effects(atom_set, fx, sr, args, bar)
    else:
        stems, mix = None, None
    with ProgressBar(f"render {path.name}", enabled=not args.quiet and mix is None) as bar:
        if mix is not None:
            pass
        elif args.stems:
            stems = render_stems(atom_set, sample_rate=sr, duration_s=args.duration,
                                 progress=bar)
            mix = np.sum(list(stems.values()), axis=0) if stems else render(
                atom_set, sample_rate=sr, duration_s=args.duration)
        else:
            mix = render(atom_set, sample_rate=sr, duration_s=args.duration, progress=bar)
    return _write(out, mix, stems, atom_set, sr, args, time.perf_counter() - t0)


def _write(out, mix, stems, atom_set, sr, args, elapsed) -> int:
    write_audio(out, mix, sr, subtype=args.subtype)
    if args.stems:
        write_stems(args.stems, stems, atom_set, sr, suffix=out.suffix, subtype=args.subtype,
                    mix=mix)
    seconds = mix.shape[1] / sr
    peak = float(np.abs(mix).max()) if mix.size else 0.0
    peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
    speed = seconds / elapsed if elapsed > 0 else np.inf
    print(f"wrote {out}: {seconds:.2f} s, {mix.shape[0]} ch, {sr} Hz, peak {peak_db:.1f} dBFS; "
          f"rendered in {elapsed:.2f} s ({speed:.1f}x real time)"
          + (f"; {len(stems)} stem(s) + mix in {args.stems}" if args.stems else ""))
    if peak > 1.0 and (args.subtype or "").startswith("PCM"):
        print("warning: the mix exceeds 0 dBFS and was clipped by the PCM subtype")
    return 0
