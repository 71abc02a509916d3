"""``atomsynth play FILE [--device D] [--loop]``: real-time playback with a live status line."""

from __future__ import annotations

import sys
import time

from atomsynth.commands import _validate as v
from atomsynth.commands._common import add_file_argument, load_atoms
from atomsynth.commands.effects_args import add_effect_arguments, build_effects


def add_arguments(parser) -> None:
    add_file_argument(parser)
    parser.add_argument("--device", default=None,
                        help="output device: index or part of its name (default: system default)")
    parser.add_argument("--list-devices", action="store_true",
                        help="list the output devices and exit")
    parser.add_argument("--loop", action="store_true", help="loop the whole piece")
    parser.add_argument("--sample-rate", type=v.sample_rate, default=None,
                        help="output rate in Hz (default: the device's for resonant atoms, the "
                             "file's for MDCT atoms)")
    parser.add_argument("--block-size", type=v.int_in(16, 8192),
                        default=256, help="frames per block (256)")
    parser.add_argument("--latency", default="low", help="PortAudio latency: low, high or seconds")
    parser.add_argument("--ahead", type=v.int_in(1, 64),
                        default=4, help="blocks rendered ahead (4)")
    parser.add_argument("--seconds", type=v.finite_float(0.0), default=None,
                        help="stop after this many seconds (default: at the end, or never with "
                             "--loop)")
    parser.add_argument("--server", default=None, metavar="NAME",
                        help="play through the running audio server NAME (atomsynth serve "
                             "--name NAME) instead of starting one")
    parser.add_argument("--pitch", type=v.finite_float(0.0, lo_open=True),
                        default=None, help="pitch ratio macro")
    parser.add_argument("--decay", type=v.finite_float(0.0, lo_open=True),
                        default=None, help="decay ratio macro")
    parser.add_argument("--gain-db", type=v.finite_float(-120.0, 48.0),
                        default=None, help="master gain in dB")
    add_effect_arguments(parser)


def run(args) -> int:
    from atomsynth.rt.engine import Engine, device_rate, list_output_devices, resolve_output_device

    if args.list_devices:
        for d in list_output_devices():
            print(f"[{d['index']}] {d['name']} ({d['hostapi']}, {d['channels']} ch, "
                  f"{d['default_samplerate']:.0f} Hz)")
        return 0
    path, atom_set = load_atoms(args.file)
    sr = args.sample_rate
    if sr is None:
        sr = atom_set.sample_rate
        if len(atom_set.mdct) == 0 and args.server is None:
            sr = device_rate(resolve_output_device(args.device))
    latency = args.latency
    try:
        latency = float(latency)
    except ValueError:
        pass
    fx = build_effects(args, atom_set, sr)
    eng = Engine(atom_set, sample_rate=sr, block_size=args.block_size, device=args.device,
                 latency=latency, ahead_blocks=args.ahead, effects=fx, server=args.server)
    for line in fx.describe():
        print(line)
    if args.pitch is not None:
        eng.set_macro("pitch", args.pitch)
    if args.decay is not None:
        eng.set_macro("decay", args.decay)
    if args.gain_db is not None:
        eng.set_macro("master_gain_db", args.gain_db)
    if args.loop:
        eng.set_loop(0.0, max(atom_set.length_s, 1.0 / sr))
    tty = sys.stdout.isatty()
    length = atom_set.length_s
    t0 = time.monotonic()
    try:
        with eng:
            eng.play()
            last = 0.0
            while eng.playing:
                time.sleep(0.05)
                now = time.monotonic() - t0
                if args.seconds is not None and now >= args.seconds:
                    break
                if tty or now - last >= 1.0:
                    last = now
                    st = eng.stats()
                    lv = " ".join(f"{x:6.1f}" for x in st["levels_db"])
                    line = (f"{path.name}  {st['position_s']:7.2f}/{length:.2f} s  "
                            f"atoms {st['atoms_playing']:5d}  cpu {st['cpu_load'] * 100:5.1f}% "
                            f"(peak {st['cpu_load_peak'] * 100:5.1f}%)  "
                            f"underflows {st['underflows']}  dBFS {lv}")
                    print(("\r" + line + "\x1b[K") if tty else line, end="" if tty else "\n",
                          flush=True)
            eng.pause()
            time.sleep(min(0.2, 4 * eng.block_size / eng.sample_rate + 0.02))
            st = eng.stats()
    except KeyboardInterrupt:
        st = eng.stats()
        print()
    if tty:
        print()
    print(f"played {st['position_s']:.2f} s on device {eng.device_index} at {sr} Hz "
          f"(audio server pid {st.get('server_pid', '-')}, render thread "
          f"{st.get('render_priority', '-')}): underflows "
          f"{st['underflows']}, peak CPU load: render thread {st['cpu_load_peak'] * 100:.1f}% "
          f"of one block, audio callback {st['callback_load_peak'] * 100:.2f}%; latency "
          f"{st['latency_s'] * 1000:.1f} ms")
    for err in fx.errors:
        print(f"warning: {err}", file=sys.stderr)
    return 0
