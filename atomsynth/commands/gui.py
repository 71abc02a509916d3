"""``atomsynth gui [FILE]``: the desktop app (PySide6 + pyqtgraph)."""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("file", nargs="?", default=None,
                        help=".atoms file, audio file (fitted or atomized) or the name of a "
                             "bundled example; default: the default bundled example")
    parser.add_argument("--device", default=None,
                        help="audio output device: index or part of its name (default: the "
                             "system default)")
    parser.add_argument("--no-audio", action="store_true",
                        help="open no audio device (edit and render only)")
    parser.add_argument("--screenshot", metavar="PNG", default=None,
                        help="draw the window offscreen, save it as PNG and quit")
    parser.add_argument("--size", default="1500x900", help="window size WxH (default 1500x900)")


def run(args) -> int:
    from atomsynth.rt.errors import ParameterError

    try:
        w, h = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        raise ParameterError(f"--size {args.size!r}: expected WIDTHxHEIGHT, e.g. 1500x900"
                             ) from None
    if not (320 <= w <= 8000 and 240 <= h <= 8000):
        raise ParameterError(f"--size {args.size!r}: each side must be in [320, 8000] "
                             "(height from 240)")
    device = args.device
    if device is not None and device.isdigit():
        device = int(device)
    try:
        from atomsynth.gui.app import main
    except ImportError as exc:
        print(f"atomsynth gui needs the gui extra: pip install 'atomsynth[gui]' ({exc})")
        return 2
    return main(path=args.file, device=device, audio=not args.no_audio,
                screenshot=args.screenshot, size=(w, h))
