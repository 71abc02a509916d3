"""Helpers shared by the subcommands: the file argument and loading atom files (a path or a
bundled example, :mod:`atomsynth.rt.examples`)."""

from __future__ import annotations

from pathlib import Path

from atomsynth.rt.atomfile import load
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.examples import DEFAULT_EXAMPLE, resolve_atoms_path


def load_atoms(name: str | None) -> tuple[Path, AtomSet]:
    path = resolve_atoms_path(name)
    return path, load(path)


def add_file_argument(parser, *, what: str = "atom file") -> None:
    parser.add_argument(
        "file", nargs="?", default=None,
        help=f"{what} (.atoms) or the name of a bundled example; default: {DEFAULT_EXAMPLE}",
    )
