"""Helpers shared by the subcommands: resolving the default example and loading atom files."""

from __future__ import annotations

from pathlib import Path

from atomsynth.rt.atomfile import load
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import AtomFileError
from atomsynth.rt.presets import data_dir

DEFAULT_EXAMPLE = "marimba_phrase"


def examples_dir() -> Path:
    return data_dir() / "examples"


def resolve_atoms_path(name: str | None) -> Path:
    """A path as given, or a bundled example by name (``bells``), or the default example."""
    if name is None:
        name = DEFAULT_EXAMPLE
    path = Path(name)
    if path.exists():
        return path
    bundled = examples_dir() / f"{name}.atoms"
    if bundled.exists():
        return bundled
    known = ", ".join(sorted(p.stem for p in examples_dir().glob("*.atoms")))
    raise AtomFileError(f"{name}: no such file, and no bundled example of that name ({known})")


def load_atoms(name: str | None) -> tuple[Path, AtomSet]:
    path = resolve_atoms_path(name)
    return path, load(path)


def add_file_argument(parser, *, what: str = "atom file") -> None:
    parser.add_argument(
        "file", nargs="?", default=None,
        help=f"{what} (.atoms) or the name of a bundled example; default: {DEFAULT_EXAMPLE}",
    )
