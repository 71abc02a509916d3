"""``atomsynth render FILE -o out.wav [--stems DIR]``: offline rendering to audio files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from atomsynth.commands import _validate as v
from atomsynth.commands._common import add_file_argument, load_atoms
from atomsynth.commands.effects_args import add_effect_arguments, build_effects
from atomsynth.rt.audio_io import write_audio
from atomsynth.rt.errors import AtomsynthError, ParameterError
from atomsynth.rt.progress import ProgressBar
from atomsynth.rt.reference import render, render_stems
from atomsynth.rt.replay import (
    render_stems_with_controls,
    render_with_controls,
    stream_stems_to_files,
    write_stems,
)


def add_arguments(parser) -> None:
    add_file_argument(parser)
    parser.add_argument("-o", "--output", default=None,
                        help="mix file (.wav or .flac); default out/<name>.wav")
    parser.add_argument("--stems", metavar="DIR", default=None,
                        help="also write one file per group, plus mix, into DIR")
    parser.add_argument("--sample-rate", type=v.sample_rate, default=None,
                        help="output sample rate in Hz (default: the file's)")
    parser.add_argument("--duration", type=v.finite_float(0.0, v.MAX_RENDER_S, lo_open=True),
                        default=None,
                        help="output length in seconds (default: until the last atom ends)")
    parser.add_argument("--subtype", type=v.subtype, default=None,
                        help="soundfile subtype, e.g. PCM_16, PCM_24, FLOAT (default: FLOAT for "
                             "WAV, PCM_24 for FLAC)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--block-size", type=v.int_in(1, v.MAX_BLOCK), default=4096,
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


REFERENCE_MAX_BYTES = 256 << 20
"""The largest mix the reference renderer holds in memory; longer dry mixes stream."""


def _too_long_for_memory(atom_set, sr, args) -> str:
    """Why the reference renderer should not take this mix (empty when it may)."""
    from atomsynth.rt.extent import ceil_samples

    nbytes = 8 * atom_set.channels * ceil_samples(args.duration or atom_set.length_s, sr)
    if args.stems:  # the reference renderer holds every stem and the mix
        nbytes *= len(atom_set.groups) + 1
    if nbytes <= REFERENCE_MAX_BYTES:
        return ""
    return (f"the mix is {nbytes / (1 << 20):.0f} MiB, more than the reference renderer's "
            f"{REFERENCE_MAX_BYTES >> 20} MiB")


def _stream_mix_to_file(atom_set, fx, sr, args, out, bar) -> tuple[float, int]:
    """The mix of the streaming path written block by block (memory bounded by the block, not
    the length); returns (peak, samples). A non-finite block aborts and nothing is written."""
    from atomsynth.rt.audio_io import audio_writer
    from atomsynth.rt.extent import ceil_samples
    from atomsynth.rt.synth import StreamingSynth

    synth = StreamingSynth(atom_set, sample_rate=sr, max_block=8192,
                           n_rooms=len(atom_set.room_names), precision=args.precision)
    total = ceil_samples(args.duration or atom_set.length_s, sr)
    block = args.block_size if fx.active else 8192
    peak = 0.0
    with audio_writer(out, sr, atom_set.channels, subtype=args.subtype) as write:
        for a in range(0, total, block):
            n = min(block, total - a)
            buses = synth.render(n)
            y = fx.process(buses) if fx.active else buses[0]
            peak = max(peak, v.check_audio(y, f"the mix at {a / sr:.3f} s"))
            write(y)
            if (a // block) % 64 == 0:
                bar(a / max(total, 1))
    bar(1.0)
    return peak, total


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
    v.output_file(out, "-o" if args.output else "output")
    v.check_subtype(out, args.subtype)
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
    out = Path(args.output) if args.output else Path("out") / f"{path.stem}.wav"
    # every output is checked before any work: a bad path fails in a second, not after the render
    v.output_file(out, "-o" if args.output else "output")
    v.check_subtype(out, args.subtype)
    if args.stems:
        v.output_dir(args.stems, "--stems")
    sr = args.sample_rate or atom_set.sample_rate
    t0 = time.perf_counter()
    if session_path is not None:
        print(f"session: {session_path}")
        with ProgressBar(f"render {path.name}", enabled=not args.quiet) as bar:
            stems, mix = _render_session(atom_set, session_path, sr, args, bar)
        return _write(out, mix, stems, atom_set, sr, args, time.perf_counter() - t0)
    fx = build_effects(args, atom_set, sr, strict=True)
    for err in fx.errors:
        print(f"warning: {err}")
    long_out = _too_long_for_memory(atom_set, sr, args)
    if long_out:
        print(f"note: {long_out}; rendering with the streaming synthesizer (as --stream)")
    if (fx.active or args.stream or long_out) and args.stems and len(atom_set.groups):
        with ProgressBar(f"render {path.name}", enabled=not args.quiet) as bar:
            peak, total = stream_stems_to_files(
                atom_set, atom_set.groups, args.stems, mix_path=out, effects=fx.clone,
                sample_rate=sr, n_rooms=len(atom_set.room_names),
                duration_s=args.duration or atom_set.length_s, block=args.block_size,
                precision=args.precision, suffix=out.suffix, subtype=args.subtype,
                check=v.check_audio, progress=bar)
        _report(out, peak, total, atom_set.channels, sr, time.perf_counter() - t0, args,
                f"; {len(atom_set.groups)} stem(s) + mix in {args.stems}")
        return 0
    if (fx.active or args.stream or long_out) and not args.stems:
        with ProgressBar(f"render {path.name}", enabled=not args.quiet) as bar:
            peak, total = _stream_mix_to_file(atom_set, fx, sr, args, out, bar)
        _report(out, peak, total, atom_set.channels, sr, time.perf_counter() - t0, args)
        return 0
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
    peak = v.check_audio(mix, "the mix")
    for audio in (stems or {}).values():
        v.check_audio(audio, "a stem")
    write_audio(out, mix, sr, subtype=args.subtype)
    if args.stems:
        write_stems(args.stems, stems, atom_set, sr, suffix=out.suffix, subtype=args.subtype,
                    mix=mix)
    _report(out, peak, mix.shape[1], mix.shape[0], sr, elapsed, args,
            f"; {len(stems)} stem(s) + mix in {args.stems}" if args.stems else "")
    return 0


def _report(out, peak, samples, channels, sr, elapsed, args, extra="") -> None:
    seconds = samples / sr
    peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
    speed = seconds / elapsed if elapsed > 0 else np.inf
    print(f"wrote {out}: {seconds:.2f} s, {channels} ch, {sr} Hz, peak {peak_db:.1f} dBFS; "
          f"rendered in {elapsed:.2f} s ({speed:.1f}x real time){extra}")
    if peak > 1.0:
        clipped = "clipped by" if (args.subtype or "").startswith("PCM") or (
            args.subtype is None and out.suffix.lower() != ".wav") else "kept by"
        print(f"warning: the mix peaks at {peak_db:+.1f} dBFS, above 0 dBFS; {clipped} the "
              "file's sample format")
