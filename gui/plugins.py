"""Finding VST3 plugins: the standard folders, a user list, a bundle-aware file dialog, a browser.

A VST3 plugin is a *bundle*: a folder ``Name.vst3`` (on Linux, macOS and, usually, Windows).
A plain file dialog opens it like any folder, and picking the ``.so`` inside it fails
(pedalboard wants the bundle). :class:`PluginFileDialog` treats a ``*.vst3`` folder as a file:
selecting it, pressing Enter on it or double-clicking it chooses it. :class:`PluginBrowser`
lists every bundle found in :func:`vst3_dirs` (the platform's standard folders, the
``VST3_PATH`` environment variable and the folders the user added) and offers the dialog for
anything else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_DEPTH = 3
"""How deep :func:`scan_vst3` looks below each folder (vendors nest bundles in subfolders)."""


def standard_vst3_dirs() -> list[Path]:
    """The platform's standard VST3 folders (per the VST3 SDK), existing or not."""
    home = Path.home()
    if sys.platform == "darwin":
        return [home / "Library/Audio/Plug-Ins/VST3", Path("/Library/Audio/Plug-Ins/VST3")]
    if sys.platform.startswith("win"):
        dirs = []
        for var in ("COMMONPROGRAMFILES", "COMMONPROGRAMFILES(X86)"):
            if os.environ.get(var):
                dirs.append(Path(os.environ[var]) / "VST3")
        if os.environ.get("LOCALAPPDATA"):
            dirs.append(Path(os.environ["LOCALAPPDATA"]) / "Programs/Common/VST3")
        return dirs
    return [home / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")]


def vst3_dirs(user_dirs=()) -> list[Path]:
    """Folders to scan: ``user_dirs``, then ``VST3_PATH`` (os.pathsep-separated), then the
    standard ones; duplicates removed."""
    env = [Path(p) for p in os.environ.get("VST3_PATH", "").split(os.pathsep) if p]
    out: list[Path] = []
    for d in [*map(Path, user_dirs), *env, *standard_vst3_dirs()]:
        if d not in out:
            out.append(d)
    return out


def is_vst3_bundle(path: str | os.PathLike) -> bool:
    """True for a ``*.vst3`` folder (a bundle) or a single-file ``*.vst3`` (old Windows)."""
    p = Path(path)
    return p.suffix.lower() == ".vst3" and p.exists()


def scan_vst3(dirs) -> list[Path]:
    """Every VST3 bundle in ``dirs`` (not inside bundles), sorted by name, unique."""
    found: dict[Path, None] = {}

    def walk(d: Path, depth: int) -> None:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            return
        for e in entries:
            if e.suffix.lower() == ".vst3":
                found.setdefault(e.resolve(), None)
            elif depth < MAX_DEPTH and e.is_dir():
                walk(e, depth + 1)

    for d in dirs:
        if Path(d).is_dir():
            walk(Path(d), 0)
    return sorted(found, key=lambda p: (p.stem.lower(), str(p)))


class PluginFileDialog(QFileDialog):
    """A file dialog that chooses a ``*.vst3`` bundle folder as a file (see the module).

    After ``exec()`` (or ``accept()``), :attr:`chosen` is the bundle or file picked, or None.
    """

    def __init__(self, parent: QWidget | None = None, directory: str | os.PathLike = "") -> None:
        super().__init__(parent, "Load a VST3 plugin", str(directory),
                         "VST3 plugins (*.vst3);;All files (*)")
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # native ones open bundles
        self.setFileMode(QFileDialog.FileMode.ExistingFile)
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        self.chosen: Path | None = None
        self.directoryEntered.connect(self._entered)

    def _entered(self, directory: str) -> None:
        """Opening a bundle (double-click, Enter) chooses it instead of entering it."""
        p = Path(directory)
        if p.suffix.lower() == ".vst3":
            self.chosen = p
            self.setDirectory(str(p.parent))
            QDialog.done(self, QDialog.DialogCode.Accepted)

    def accept(self) -> None:  # noqa: D401 - Qt override
        files = self.selectedFiles()
        if len(files) == 1 and Path(files[0]).suffix.lower() == ".vst3" and Path(
                files[0]).is_dir():
            self.chosen = Path(files[0])
            QDialog.done(self, QDialog.DialogCode.Accepted)
            return
        super().accept()
        if self.result() == QDialog.DialogCode.Accepted and self.selectedFiles():
            self.chosen = Path(self.selectedFiles()[0])


class PluginBrowser(QDialog):
    """The VST3 plugins found on this machine; Load picks one (:attr:`chosen`).

    The user's extra folders are kept in ``settings`` under ``plugin_dirs``.
    """

    def __init__(self, parent: QWidget | None = None, settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("VST3 plugins")
        self.settings = settings if settings is not None else QSettings("atomsynth",
                                                                        "atomsynth")
        self.chosen: Path | None = None
        lay = QVBoxLayout(self)
        self.info = QLabel()
        self.info.setWordWrap(True)
        lay.addWidget(self.info)
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        for text, fn in (("Add folder…", self.add_folder_dialog), ("Rescan", self.rescan),
                         ("Browse…", self.browse)):
            b = QPushButton(text)
            b.clicked.connect(fn)
            row.addWidget(b)
        lay.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.load_button = buttons.addButton("Load", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(560, 420)
        self.rescan()

    def user_dirs(self) -> list[str]:
        v = self.settings.value("plugin_dirs", [])
        return [v] if isinstance(v, str) else [str(x) for x in (v or [])]

    def add_folder(self, folder: str | os.PathLike) -> None:
        dirs = self.user_dirs()
        if str(folder) not in dirs:
            self.settings.setValue("plugin_dirs", [*dirs, str(folder)])
        self.rescan()

    def add_folder_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Add a plugin folder", str(Path.home()))
        if d:
            self.add_folder(d)

    def rescan(self) -> None:
        dirs = vst3_dirs(self.user_dirs())
        self.list.clear()
        for p in scan_vst3(dirs):
            item = QListWidgetItem(f"{p.stem}    —    {p.parent}")
            item.setData(Qt.ItemDataRole.UserRole, str(p))
            item.setToolTip(str(p))
            self.list.addItem(item)
        where = ", ".join(str(d) for d in dirs if d.is_dir()) or "none of them exist"
        self.info.setText(f"{self.list.count()} VST3 plugin(s) in the standard folders, "
                          f"VST3_PATH and your folders ({where}).")
        if self.list.count():
            self.list.setCurrentRow(0)

    def paths(self) -> list[Path]:
        return [Path(self.list.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.list.count())]

    def browse(self) -> None:
        dirs = [d for d in vst3_dirs(self.user_dirs()) if d.is_dir()]
        dlg = PluginFileDialog(self, dirs[0] if dirs else Path.home())
        if dlg.exec() and dlg.chosen is not None:
            self.chosen = dlg.chosen
            QDialog.accept(self)

    def accept(self) -> None:  # noqa: D401 - Qt override
        item = self.list.currentItem()
        if self.chosen is None and item is not None:
            self.chosen = Path(item.data(Qt.ItemDataRole.UserRole))
        super().accept()


def one_line(message: str) -> str:
    """A message on one line (plugin hosts report multi-line errors)."""
    return " ".join(str(message).split())
