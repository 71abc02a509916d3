"""The bundled example atom sets (``presets/examples/*.atoms``) and how a name finds one."""

from __future__ import annotations

from pathlib import Path

from atomsynth.rt.errors import AtomFileError
from atomsynth.rt.presets import data_dir

DEFAULT_EXAMPLE = "marimba_phrase"
"""The example a command plays or renders when it is given no file."""


def examples_dir() -> Path:
    """The folder of the bundled example atom sets."""
    return data_dir() / "examples"


def example_paths() -> list[Path]:
    """Every bundled example atom file, sorted by name (empty if the folder is missing)."""
    folder = examples_dir()
    return sorted(folder.glob("*.atoms")) if folder.is_dir() else []


def resolve_atoms_path(name: str | None) -> Path:
    """A path as given, or a bundled example by name (``bells``), or the default example.

    Raises
    ------
    AtomFileError
        If ``name`` is neither an existing path nor an example, listing the examples.
    """
    if name is None:
        name = DEFAULT_EXAMPLE
    path = Path(name)
    if path.exists():
        return path
    bundled = examples_dir() / f"{name}.atoms"
    if bundled.exists():
        return bundled
    known = ", ".join(p.stem for p in example_paths())
    raise AtomFileError(f"{name}: no such file, and no bundled example of that name ({known})")


__all__ = ["DEFAULT_EXAMPLE", "example_paths", "examples_dir", "resolve_atoms_path"]
