"""The ``atomsynth`` command: one entry point, one subcommand per job.

Each subcommand lives in its own module (``atomsynth.commands.*``) and is imported only when
it runs, so ``atomsynth info`` never loads torch or Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``atomsynth render: error: argument --duration:
    nan is out of range ...`` and exit status 2 (the usage line is left to ``--help``)."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="atomsynth",
        description="Turn sound into sparse, interpretable atoms; play and reshape them.",
    )
    parser.add_argument("--version", action="version", version=f"atomsynth {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (default: one line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit status: 0 done, 1 failed, 2 usage error (bad option or value),
    130 interrupted. Every error is one line on stderr; ``--debug`` adds the traceback."""
    from atomsynth.rt.errors import AtomsynthError, ParameterError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: returned, not raised
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help()
        return 0

    def fail(code: int, text: str) -> int:
        if args.debug:
            traceback.print_exc()
        line = " ".join(text.split()) or "error"
        print(f"atomsynth {args.command}: error: {line}", file=sys.stderr)
        return code

    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except ParameterError as exc:
        return fail(2, str(exc))
    except AtomsynthError as exc:
        return fail(1, str(exc))
    except KeyboardInterrupt:
        print(f"atomsynth {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        return fail(1, "out of memory (the input or the options ask for more than this machine "
                       "has)")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(1, f"{where}{exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        return fail(1, f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for "
                       "the traceback and report it")


if __name__ == "__main__":
    raise SystemExit(main())
