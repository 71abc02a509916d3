"""The ``atomsynth`` command: one entry point, one subcommand per job.

Each subcommand lives in its own module (``atomsynth.commands.*``) and is imported only when
it runs, so ``atomsynth info`` never loads torch or Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from atomsynth import __version__

# name -> (module, help). Each module defines add_arguments(parser) and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("atomsynth.commands.info", "describe an atom file: counts, duration, groups, bitrate"),
    "render": ("atomsynth.commands.render", "render an atom file to WAV/FLAC (mix and stems)"),
    "presets": ("atomsynth.commands.presets", "list the resonance presets or apply one"),
    "examples": ("atomsynth.commands.examples", "list or rebuild the bundled example atom sets"),
    "play": ("atomsynth.commands.play", "play an atom file in real time (live status line)"),
    "serve": ("atomsynth.commands.serve",
              "the audio server: plays atom sets for the app, play, the Python API and OSC"),
    "rooms": ("atomsynth.commands.rooms",
              "list room impulse responses or rebuild the bundled ones"),
    "atomize": ("atomsynth.commands.atomize",
                "MDCT atoms of an audio file: matching pursuit or one MDCT, to .atoms"),
    "encode": ("atomsynth.commands.encode",
               "the codec: encode audio into a compact atom file of at most --kbps"),
    "decode": ("atomsynth.commands.decode", "the codec: render an encoded atom file to audio"),
    "gui": ("atomsynth.commands.gui", "open the desktop app: see, play and reshape an atom set"),
    "fit": ("atomsynth.commands.fit",
            "fit resonant atoms to a recording (PyTorch; GPU when present)"),
    "fit-batch": ("atomsynth.commands.fit_batch",
                  "fit every audio file of a folder, in parallel, resumable (or on Ray)"),
    "preset-from": ("atomsynth.commands.preset_from",
                    "estimate a resonance preset (mode table) from a recorded strike"),
    "eval": ("atomsynth.commands.eval",
             "quality of a decoding against its reference: SNR, spectral and mel distances, "
             "ViSQOL, bitrate"),
    "export": ("atomsynth.commands.export",
               "atoms to SDIF (SPEAR, AudioSculpt, Max), MIDI, CSV or JSON"),
    "import": ("atomsynth.commands.import_",
               "atoms from SDIF (1RES, 1TRC), MIDI, CSV or JSON to an atom file"),
    "lm": ("atomsynth.commands.lm", "atom language model: train, locate, inpaint, continue, "
           "extend-band, evaluate"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atomsynth",
        description="Turn sound into sparse, interpretable atoms; play and reshape them.",
    )
    parser.add_argument("--version", action="version", version=f"atomsynth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    from atomsynth.rt.errors import AtomsynthError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except AtomsynthError as exc:
        print(f"atomsynth {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"atomsynth {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
