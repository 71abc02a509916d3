"""Autosave and crash recovery, and where the app may write.

While a document has unsaved edits the window writes it every ``autosave_s`` seconds to
``<recovery folder>/autosave-<pid>.atoms`` with its session
(``autosave-<pid>.atomsession.json``) and a small ``autosave-<pid>.json`` (the original
file, the title, the time). A clean quit (after Save or Discard) removes them. At the next
start, files left by a process that is no longer running are offered for recovery.

The recovery folder is ``QStandardPaths.AppDataLocation/recovery`` (e.g.
``~/.local/share/atomsynth/recovery`` on Linux).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from atomsynth.rt.atomfile import save
from atomsynth.rt.atomic import write_text_atomic
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.processes import pid_alive
from atomsynth.rt.session import Session, session_path_for, write_session


def package_dirs() -> list[Path]:
    """The installed package's folders (code and bundled data): never written by the app."""
    import atomsynth
    from atomsynth.rt.presets import data_dir

    return [Path(atomsynth.__file__).resolve().parent, data_dir().resolve()]


def in_package(path: str | os.PathLike) -> bool:
    """True when ``path`` lies inside the installed package (bundled examples, presets)."""
    p = Path(path).resolve()
    return any(p == d or p.is_relative_to(d) for d in package_dirs())


def user_documents_dir() -> Path:
    """The user's documents folder (home when there is none)."""
    from PySide6.QtCore import QStandardPaths

    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    p = Path(loc) if loc else Path.home()
    return p if p.is_dir() else Path.home()


def default_recovery_dir() -> Path:
    from PySide6.QtCore import QStandardPaths

    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return (Path(loc) if loc else Path.home() / ".atomsynth") / "recovery"


class Recovery:
    """The recovery files of this process (see the module)."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.dir = Path(directory) if directory is not None else default_recovery_dir()
        self.atoms_path = self.dir / f"autosave-{os.getpid()}.atoms"

    def _info_path(self, atoms_path: Path) -> Path:
        return atoms_path.with_suffix(".json")

    def write(self, atom_set: AtomSet, session: Session, original: Path | None,
              suggested: str | None) -> Path:
        """Write the atoms, the session and the info file (each atomically)."""
        save(atom_set, self.atoms_path)
        session.atoms = self.atoms_path.name
        write_session(session, session_path_for(self.atoms_path))
        info = {"path": str(original) if original else "", "suggested": suggested or "",
                "title": original.name if original else (suggested or "untitled"),
                "time": time.strftime("%Y-%m-%d %H:%M:%S"), "pid": os.getpid()}
        write_text_atomic(self._info_path(self.atoms_path), json.dumps(info))
        return self.atoms_path

    def discard(self, atoms_path: Path) -> None:
        for p in (atoms_path, session_path_for(atoms_path), self._info_path(atoms_path)):
            p.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove this process's recovery files (after a save, or a clean quit)."""
        self.discard(self.atoms_path)

    def find_orphan(self) -> tuple[Path, dict] | None:
        """The newest recovery file left by a process that is gone, with its info."""
        if not self.dir.is_dir():
            return None
        found = []
        for p in self.dir.glob("autosave-*.atoms"):
            try:
                pid = int(p.stem.split("-", 1)[1])
            except ValueError:
                continue
            if pid_alive(pid):
                continue
            try:
                info = json.loads(self._info_path(p).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = {}
            found.append((p.stat().st_mtime, p, info if isinstance(info, dict) else {}))
        if not found:
            return None
        _, p, info = max(found, key=lambda t: t[0])
        return p, info
