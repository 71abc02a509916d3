"""``atomsynth serve``: the audio server process (see docs/server.md).

It owns the streaming synthesizer, the effects and the PortAudio stream; clients (the app,
``atomsynth play``, the Python ``Engine``, OSC senders) control it through shared memory. It
imports neither Qt nor torch.
"""

from __future__ import annotations

from atomsynth.commands import _validate as v


def add_arguments(parser) -> None:
    parser.add_argument("file", nargs="?", default=None,
                        help="atom file to load at start (clients may load others)")
    parser.add_argument("--name", default="default",
                        help="server name clients connect with (default 'default')")
    parser.add_argument("--device", default=None,
                        help="output device: index or part of its name (default: system default)")
    parser.add_argument("--sample-rate", type=v.sample_rate, default=None,
                        help="stream rate in Hz (default: the atom set's)")
    parser.add_argument("--block-size", type=v.int_in(16, 8192), default=256,
                        help="frames per block (256)")
    parser.add_argument("--latency", default="low", help="PortAudio latency: low, high or seconds")
    parser.add_argument("--ahead", type=v.int_in(1, 64), default=4,
                        help="blocks rendered ahead (4)")
    parser.add_argument("--no-output", action="store_true", help="open no audio device")
    parser.add_argument("--osc-port", type=v.int_in(0, 65535), default=None,
                        help="listen for OSC on this UDP port (0: any free port)")
    parser.add_argument("--osc-host", default="127.0.0.1",
                        help="address OSC listens on (default loopback only)")
    parser.add_argument("--exit-when-unused", action="store_true",
                        help="exit when the last client has gone (servers that clients start)")
    parser.add_argument("--jack-name", default="atomsynth",
                        help="JACK client name (atomsynth; kept across restarts)")
    parser.add_argument("--skip-plugin", action="append", default=[], metavar="PATH",
                        help="never load this plugin (it crashed a previous server)")


def run(args) -> int:
    from atomsynth.rt.server.host import ServerOptions, serve

    latency = args.latency
    try:
        latency = float(latency)
    except ValueError:
        pass
    device = args.device
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    opts = ServerOptions(name=args.name, sample_rate=args.sample_rate,
                         block_size=args.block_size, device=device, latency=latency,
                         ahead_blocks=args.ahead, output=not args.no_output,
                         exit_when_unused=args.exit_when_unused, osc_port=args.osc_port,
                         osc_host=args.osc_host, skip_plugins=tuple(args.skip_plugin),
                         jack_name=args.jack_name)
    return serve(opts, atoms_path=args.file)
