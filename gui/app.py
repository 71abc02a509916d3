"""The main window: atom view, inspector, macros, effects, transport, files and status.

``main(argv)`` runs the app (``atomsynth gui [FILE]``). With no file it opens the bundled
default example (or, when no example is installed, a generated demo phrase).

Everything slow runs off the GUI thread in a :class:`~atomsynth.gui.jobs.Job` (renders,
fitting) with a progress dialog that can cancel it. Every problem (bad file, failed plugin, no
audio device, missing engine) becomes a readable message in the status bar and a non-modal
message box; the window keeps working.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from atomsynth.gui.atom_view import AtomView
from atomsynth.gui.document import AtomDocument, Selection
from atomsynth.gui.effects import EffectsChain
from atomsynth.gui.effects_panel import EffectsPanel
from atomsynth.gui.engine_bridge import EngineBridge, list_devices
from atomsynth.gui.inspector import Inspector
from atomsynth.gui.jobs import Job, find_analyzer
from atomsynth.gui.macros import MacroPanel
from atomsynth.gui.meters import LevelMeter
from atomsynth.gui.mixdown import MixSettings, render_baked
from atomsynth.gui.spectrogram import spectrogram_image
from atomsynth.gui.transport import TransportBar
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import AtomsynthError, ParameterError
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".mp3", ".opus")
PREVIEW_MAX_ATOMS = 2000
"""Above this many atoms the waveform/spectrogram preview is rendered only on request
(View > Render preview)."""
MAX_RECENT = 8
TIMER_HZ = 30


class MainWindow(QMainWindow):
    """The atomsynth window.

    Parameters
    ----------
    path : str or Path, optional
        ``.atoms`` or audio file to open.
    atom_set : AtomSet, optional
        Open this set instead (unsaved).
    device : int or str, optional
        Audio output device.
    audio : bool
        False: never open an audio device.
    settings : QSettings, optional
        Where recent files are kept (default: the user's atomsynth settings).
    preview : bool
        Render the waveform/spectrogram preview automatically after edits (small sets).
    """

    def __init__(self, *, path=None, atom_set: AtomSet | None = None, device=None,
                 audio: bool = True, settings: QSettings | None = None,
                 preview: bool = True) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("atomsynth", "atomsynth")
        self.errors: list[str] = []
        self.jobs: set[Job] = set()
        self.preview_enabled = preview
        self.preview_audio: np.ndarray | None = None
        self._preview_job: Job | None = None
        self.last_render: np.ndarray | None = None

        self.doc = AtomDocument(parent=self)
        self.mix = MixSettings()
        self.chain = EffectsChain()
        self.bridge = EngineBridge(device=device, output=audio)

        self.view = AtomView()
        self.meter = LevelMeter(2)
        self.transport = TransportBar()
        self.inspector = Inspector()
        self.macros = MacroPanel(self.mix)
        self.effects = EffectsPanel(self.chain)

        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.transport)
        row = QHBoxLayout()
        row.addWidget(self.view, 1)
        row.addWidget(self.meter)
        cl.addLayout(row, 1)
        self.setCentralWidget(central)

        self.inspector_dock = QDockWidget("Inspector", self)
        self.inspector_dock.setObjectName("inspector")
        self.inspector_dock.setWidget(self.inspector)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector_dock)
        tabs = QTabWidget()
        tabs.addTab(self.macros, "Macros && mixer")
        tabs.addTab(self.effects, "Effects")
        self.controls_dock = QDockWidget("Live controls", self)
        self.controls_dock.setObjectName("controls")
        self.controls_dock.setWidget(tabs)
        tabs.setMinimumWidth(430)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)

        self._build_status()
        self._build_actions()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1500, 900)

        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(400)
        self.preview_timer.timeout.connect(self.render_preview)
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / TIMER_HZ))
        self.timer.timeout.connect(self.tick)
        self.timer.start()

        if atom_set is not None:
            self.doc.reset(atom_set)
        elif path is not None:
            self.open_path(path)
        else:
            self.open_default()
        if self.bridge.engine is None and self.bridge.problem is None:
            self._start_engine()

    # -- construction ---------------------------------------------------------------------
    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_labels = {}
        for key, tip in (("cpu", "CPU load of the audio thread (mean / peak)"),
                         ("underflows", "output underflows since the stream started"),
                         ("atoms", "atoms sounding now"),
                         ("rate", "sample rate and output latency"),
                         ("fps", "view updates per second")):
            lab = QLabel("–")
            lab.setToolTip(tip)
            sb.addPermanentWidget(lab)
            self.status_labels[key] = lab

    def _action(self, menu, text: str, slot, shortcut=None, *, checkable: bool = False,
                tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setCheckable(checkable)
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(slot)
        menu.addAction(act)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.examples_menu = f.addMenu("Open &example")
        self._fill_examples()
        self.recent_menu = f.addMenu("Open &recent")
        self._fill_recent()
        self._action(f, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(f, "Save &as…", self.save_as, QKeySequence("Ctrl+Shift+S"))
        f.addSeparator()
        self._action(f, "&Render mix…", lambda: self.render_dialog(stems=False),
                     QKeySequence("Ctrl+R"))
        self._action(f, "Render &stems…", lambda: self.render_dialog(stems=True),
                     QKeySequence("Ctrl+Shift+R"))
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        e = mb.addMenu("&Edit")
        undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence.StandardKey.Redo, QKeySequence("Ctrl+Y")])
        e.addAction(undo)
        e.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        e.addSeparator()
        self._action(e, "Select &all", self.doc.select_all, QKeySequence.StandardKey.SelectAll)
        self._action(e, "Select &none", lambda: self.doc.select(Selection()),
                     QKeySequence("Esc"))
        self._action(e, "&Delete", self.guard(self.doc.delete_selection),
                     QKeySequence.StandardKey.Delete)
        self._action(e, "D&uplicate", self.guard(lambda: self.doc.duplicate_selection(dt_s=0.25)),
                     QKeySequence("Ctrl+D"), tip="copies 0.25 s later")
        self._action(e, "Move to &group…", self.regroup_dialog, QKeySequence("Ctrl+G"))
        self._action(e, "&Bake macros into atoms", self.bake_macros,
                     tip="apply the macro and group settings to the atoms (undoable)")

        v = mb.addMenu("&View")
        self.spec_action = self._action(v, "&Spectrogram", self.view.show_spectrogram,
                                        QKeySequence("Ctrl+Shift+G"), checkable=True)
        self.spec_action.setChecked(True)
        self.view.show_spectrogram(True)
        self.colour_action = self._action(
            v, "Colour by &preset", lambda on: self.view.set_colour_by(
                "preset" if on else "group"), checkable=True)
        self.select_mode_action = self._action(
            v, "Rubber-band &select mode", lambda on: setattr(self.view, "select_mode", on),
            QKeySequence("S"), checkable=True, tip="left drag selects instead of panning")
        self._action(v, "Zoom to &fit", lambda: self.view.reset_range(self.doc.atom_set),
                     QKeySequence("F"))
        self._action(v, "&Render preview", self.render_preview, QKeySequence("Ctrl+P"),
                     tip="render the waveform and spectrogram of the atoms now")

        t = mb.addMenu("&Transport")
        self.play_action = self._action(t, "&Play / pause", self.toggle_play,
                                        QKeySequence(Qt.Key.Key_Space))
        self.play_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._action(t, "Back to &start", lambda: self.seek(0.0), QKeySequence("Home"))
        self._action(t, "&Loop the selection", self.loop_selection, QKeySequence("L"))

    def _connect(self) -> None:
        d = self.doc
        d.changed.connect(self._doc_changed)
        d.selection_changed.connect(self._selection_changed)
        d.file_changed.connect(self._update_title)
        self.view.selection_requested.connect(d.select)
        self.view.move_requested.connect(lambda dt, r: self.guard(d.move_selection)(dt, r))
        self.view.seek_requested.connect(self.seek)
        self.view.loop_changed.connect(lambda a, b: self.transport.set_loop(a, b, enabled=True))
        ins = self.inspector
        ins.param_edited.connect(self.edit_param)
        ins.preset_requested.connect(lambda name: self.guard(d.apply_preset_to_selection)(name))
        ins.regroup_requested.connect(
            lambda g, name: self.guard(d.regroup_selection)(g, name=name or None))
        ins.select_group_requested.connect(lambda g, add: d.select_group(g, add=add))
        ins.delete_requested.connect(self.guard(d.delete_selection))
        ins.duplicate_requested.connect(self.guard(lambda: d.duplicate_selection(dt_s=0.25)))
        self.macros.macro_changed.connect(self.bridge.set_macro)
        self.macros.group_changed.connect(lambda g, p: self.bridge.set_group(g, **p))
        self.effects.error.connect(self.show_error)
        self.effects.chain_changed.connect(self._chain_changed)
        self.effects.param_changed.connect(self._effect_param)
        self.effects.room_requested.connect(
            lambda name, wet, all_atoms: self.guard(d.set_room)(name, wet, all_atoms=all_atoms))
        self.transport.play_clicked.connect(self.toggle_play)
        self.transport.rewind_clicked.connect(lambda: self.seek(0.0))
        self.transport.loop_changed.connect(self._loop_changed)
        self.transport.device_chosen.connect(self.choose_device)

    # -- messages -------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """Show a problem without blocking: status bar plus a non-modal message box."""
        self.errors.append(message)
        self.statusBar().showMessage(message, 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "atomsynth", message,
                          QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        box.show()

    def guard(self, fn):
        """``fn`` wrapped so that atomsynth errors become messages instead of exceptions."""
        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except AtomsynthError as exc:
                self.show_error(str(exc))
        return wrapped

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.doc.title} — atomsynth")

    # -- engine ---------------------------------------------------------------------------
    def _start_engine(self) -> None:
        problem = self.bridge.open(self.doc.atom_set, self.mix)
        self.chain.engine_inserts = 0
        self.transport.set_devices(list_devices(),
                                   self.bridge.device if self.bridge.has_output else None)
        if problem:
            self.statusBar().showMessage(problem, 15000)
            self.errors.append(problem)
        self._chain_changed()

    def choose_device(self, device) -> None:
        self.bridge.device = device
        self.bridge.output = device is not None
        self._start_engine()

    def _chain_changed(self) -> None:
        """Rebuild the engine bridge's insert chain from the panel's."""
        eng = self.bridge.engine
        if eng is None:
            return
        try:
            self.chain.sync_to(eng.effects)
        except AtomsynthError as exc:
            self.show_error(str(exc))

    def _effect_param(self, index: int, name: str, value: float) -> None:
        eng = self.bridge.engine
        if eng is None:
            return
        try:
            eng.effects.set_param(index, name, value)
        except AtomsynthError as exc:
            self.show_error(str(exc))

    # -- document events ------------------------------------------------------------------
    def _doc_changed(self, reason: str) -> None:
        s = self.doc.atom_set
        self.view.set_atom_set(s, reset_range=reason == "reset")
        self.inspector.set_groups(s)
        self.macros.set_groups(s)
        if reason == "reset":
            if self.bridge.engine is not None or self.bridge.problem is not None:
                self._start_engine()
            self.preview_audio = None
            self.view.set_waveform(None, s.sample_rate)
            self.view.set_spectrogram(None)
        elif self.bridge.engine is not None:
            if tuple(self.bridge.engine.atom_set.room_names) != tuple(s.room_names):
                self._start_engine()  # new room buses: the engine is rebuilt
            else:
                try:
                    self.bridge.set_atom_set(s)
                except AtomsynthError:
                    self._start_engine()
        if self.preview_enabled and s.n_atoms <= PREVIEW_MAX_ATOMS:
            self.preview_timer.start()
        self._update_title()

    def _selection_changed(self) -> None:
        self.view.set_selection(self.doc.selection)
        self.inspector.show_selection(self.doc.atom_set, self.doc.selection)

    def edit_param(self, family: str, name: str, value: float) -> None:
        sel = self.doc.selection.family(family)
        try:
            self.doc.set_params(family, sel, **{name: value})
        except AtomsynthError as exc:
            self.show_error(str(exc))
            self.inspector.show_selection(self.doc.atom_set, self.doc.selection)

    def regroup_dialog(self) -> None:
        g, ok = QInputDialog.getInt(self, "Move to group", "group id", 0, 0, 65535)
        if ok:
            self.guard(self.doc.regroup_selection)(g)

    def bake_macros(self) -> None:
        from atomsynth.gui.mixdown import MACRO_DEFAULTS, bake

        if self.mix.neutral:
            self.statusBar().showMessage("the macros are neutral: nothing to bake", 5000)
            return
        try:
            baked = bake(self.doc.atom_set, self.mix)
        except AtomsynthError as exc:
            self.show_error(str(exc))
            return
        self.doc.apply(baked, "bake macros", Selection())
        self.mix.macros.update(MACRO_DEFAULTS)
        self.mix.groups.clear()
        self.macros.sync_from_settings()
        self.macros.set_groups(self.doc.atom_set, rebuild=True)
        self.bridge.push_settings(self.mix)

    # -- transport ------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.bridge.engine is None or not self.bridge.has_output:
            self.statusBar().showMessage(
                self.bridge.problem or "no audio output: choose a device", 8000)
            return
        self.transport.set_playing(self.bridge.toggle())

    def seek(self, seconds: float) -> None:
        self.bridge.seek(seconds)
        self.view.set_playhead(seconds)
        self.transport.set_position(seconds)

    def _loop_changed(self, region) -> None:
        self.view.set_loop(region)
        if region is None:
            self.bridge.set_loop(None)
        else:
            self.bridge.set_loop(*region)

    def loop_selection(self) -> None:
        sel, s = self.doc.selection, self.doc.atom_set
        if not sel.resonant.size:
            return
        on = s.resonant.onset_s[sel.resonant]
        end = on + s.resonant.t60_s[sel.resonant]
        self.transport.set_loop(float(on.min()), float(end.max()), enabled=True)

    def tick(self) -> None:
        """Timer: playhead, meters, transport and status (about 30 times a second)."""
        stats = self.bridge.stats()
        pos = float(stats.get("position_s", self.bridge.position_s))
        self.view.set_playhead(pos)
        self.transport.set_position(pos)
        self.transport.set_playing(self.bridge.playing)
        lab = self.status_labels
        if stats:
            self.meter.set_levels(stats.get("levels_db", []))
            lab["cpu"].setText(f"CPU {100 * stats.get('cpu_load', 0):.0f}% "
                               f"(peak {100 * stats.get('cpu_load_peak', 0):.0f}%)")
            lab["underflows"].setText(f"underflows {stats.get('underflows', 0)}")
            lab["atoms"].setText(f"{stats.get('atoms_playing', 0)} atoms playing")
            lab["rate"].setText(f"{stats.get('sample_rate', 0)} Hz, "
                                f"{1000 * stats.get('latency_s', 0):.1f} ms")
        else:
            lab["cpu"].setText("CPU –")
            lab["underflows"].setText("underflows –")
            lab["atoms"].setText("no engine")
            lab["rate"].setText(f"{self.doc.atom_set.sample_rate} Hz")
        lab["fps"].setText(f"{self.view.fps:.0f} fps")

    # -- files ----------------------------------------------------------------------------
    def _fill_examples(self) -> None:
        from atomsynth.commands._common import examples_dir

        self.examples_menu.clear()
        found = sorted(examples_dir().glob("*.atoms")) if examples_dir().is_dir() else []
        for p in found:
            act = self.examples_menu.addAction(p.stem)
            act.triggered.connect(lambda _=False, p=p: self.open_path(p, ask=True))
        demo = self.examples_menu.addAction("generated demo phrase")
        demo.triggered.connect(self.open_demo)

    def open_demo(self) -> None:
        from atomsynth.gui.demo import demo_atom_set

        if self.maybe_save():
            self.doc.reset(demo_atom_set(48))

    def open_default(self) -> None:
        from atomsynth.commands._common import resolve_atoms_path

        try:
            path = resolve_atoms_path(None)
        except AtomsynthError:
            from atomsynth.gui.demo import demo_atom_set

            self.doc.reset(demo_atom_set(48))
            self.statusBar().showMessage("no bundled example installed: opened a generated demo "
                                         "phrase", 10000)
            return
        self.open_path(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, p=p: self.open_path(p, ask=True))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self._fill_recent()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open", str(self.doc.path.parent if self.doc.path else Path.cwd()),
            "Atoms and audio (*.atoms *.wav *.flac *.ogg *.aif *.aiff *.mp3 *.opus);;"
            "All files (*)")
        if path:
            self.open_path(path, ask=True)

    def open_path(self, path, *, ask: bool = False) -> bool:
        """Open an ``.atoms`` file, or analyze an audio file in the background."""
        path = Path(path)
        if ask and not self.maybe_save():
            return False
        if path.suffix.lower() in AUDIO_SUFFIXES:
            return self.analyze_audio(path)
        try:
            self.doc.open(path)
        except (AtomsynthError, OSError) as exc:
            self.show_error(f"could not open {path}: {exc}")
            return False
        self._add_recent(path)
        self.statusBar().showMessage(f"opened {path}", 5000)
        return True

    def save(self) -> bool:
        if self.doc.path is None or self.doc.path.suffix.lower() != ".atoms":
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        start = str(self.doc.path.with_suffix(".atoms")) if self.doc.path else "untitled.atoms"
        path, _ = QFileDialog.getSaveFileName(self, "Save atoms", start, "Atoms (*.atoms)")
        if not path:
            return False
        if not path.endswith(".atoms"):
            path += ".atoms"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.doc.save(path)
        except (AtomsynthError, OSError) as exc:
            self.show_error(f"could not save {path}: {exc}")
            return False
        self._add_recent(path)
        self.statusBar().showMessage(f"saved {path}", 5000)
        return True

    def maybe_save(self) -> bool:
        """Ask about unsaved edits. True: go on (saved or discarded); False: cancelled."""
        if not self.doc.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.doc.title.rstrip(' *')}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if not self.maybe_save():
            event.ignore()
            return
        self.timer.stop()
        self.preview_timer.stop()
        for job in list(self.jobs):
            job.cancel()
            job.wait(10000)
        self.bridge.close()
        event.accept()

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(Path(u.toLocalFile()).suffix.lower() in (".atoms",) + AUDIO_SUFFIXES
               for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
        for u in event.mimeData().urls():
            p = Path(u.toLocalFile())
            if p.suffix.lower() in (".atoms",) + AUDIO_SUFFIXES:
                event.acceptProposedAction()
                self.open_path(p, ask=True)
                return

    # -- background jobs ------------------------------------------------------------------
    def run_job(self, fn, *, label: str, on_done, dialog: bool = True) -> Job:
        """Run ``fn(progress)`` in a thread; a progress dialog offers Cancel."""
        job = Job(fn, label=label, parent=self)
        self.jobs.add(job)
        dlg = None
        alive = [True]
        if dialog:
            # Not modal: a modal QProgressDialog runs the event loop inside setValue, which
            # could deliver "finished" (and delete the dialog) in the middle of the call.
            # The job renders a snapshot of the set, so edits meanwhile are harmless.
            dlg = QProgressDialog(label, "Cancel", 0, 1000, self)
            dlg.setWindowTitle("atomsynth")
            dlg.setWindowModality(Qt.WindowModality.NonModal)
            dlg.setMinimumDuration(300)
            dlg.setValue(0)
            dlg.canceled.connect(job.cancel)
            job.progress.connect(lambda f: alive[0] and dlg.setValue(int(f * 1000)))
        job.dialog = dlg

        def finish() -> None:
            self.jobs.discard(job)
            if dlg is not None and alive[0]:
                alive[0] = False
                dlg.reset()
                dlg.hide()
                dlg.deleteLater()

        job.done.connect(on_done)
        job.failed.connect(self.show_error)
        job.cancelled.connect(lambda: self.statusBar().showMessage(f"{label}: cancelled", 5000))
        job.finished.connect(finish)
        job.start()
        return job

    def analyze_audio(self, path: Path, kind: str | None = None) -> bool:
        """Fit or atomize an audio file in the background; the result opens unsaved."""
        fn, what = find_analyzer(kind)
        if fn is None:
            self.show_error(f"{path.name}: {what}")
            return False

        def work(progress):
            from atomsynth.rt.audio_io import read_audio

            audio, sr = read_audio(path)
            return fn(audio, sample_rate=sr, progress=progress)

        def done(atom_set) -> None:
            if not isinstance(atom_set, AtomSet):
                self.show_error(f"{path.name}: the analyzer returned {type(atom_set).__name__}, "
                                "not an AtomSet")
                return
            self.doc.reset(AtomSet(sample_rate=atom_set.sample_rate,
                                   channels=atom_set.channels))
            self.doc.path = path.with_suffix(".atoms")
            self.doc.apply(atom_set, f"{what} {path.name}")
            self.view.reset_range(atom_set)

        self.run_job(work, label=f"{what}: {path.name}", on_done=done)
        return True

    def render_dialog(self, *, stems: bool) -> None:
        base = self.doc.path.stem if self.doc.path else "untitled"
        if stems:
            folder = QFileDialog.getExistingDirectory(self, "Render stems into folder")
            if folder:
                self.render_to(Path(folder), stems=True)
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Render mix", f"{base}.wav",
                                                  "Audio (*.wav *.flac)")
            if path:
                self.render_to(Path(path), stems=False)

    def render_to(self, target: Path, *, stems: bool, wait: bool = False) -> Job:
        """Render the mix (to a file) or the stems (into a folder) with the live controls.

        With the engine: its offline render (same synthesizer, macros, group controls, rooms
        and inserts as live playback), in a fresh output-less engine; stems render each
        audible group alone. Without it: the reference renderer with the controls baked in,
        then the inserts.
        """
        from atomsynth.rt.audio_io import write_audio

        atom_set, mix, chain = self.doc.atom_set, self.mix, self.chain
        sr = atom_set.sample_rate
        suffix = target.suffix if not stems and target.suffix else ".wav"
        live = self.bridge.engine

        # Effects are cloned here, in the GUI thread: hosted VST3 plugins must be created (and
        # their parameters set) on the thread that loads them (JUCE), not in the worker.
        groups = mix.audible_groups(atom_set.groups) if stems else [None]
        fx_copies = ([live.effects.clone() if live.effects.active else None for _ in groups]
                     if live is not None else [])

        def engine_render(subset, fx, progress):
            from atomsynth.rt.engine import render_through
            from atomsynth.rt.synth import StreamingSynth

            synth = StreamingSynth(subset, sample_rate=sr, max_block=8192,
                                   n_rooms=live.n_rooms)
            for name, value in mix.macros.items():
                synth.set_macro(name, value)
            for g, c in mix.groups.items():
                synth.set_group(g, gain_db=c.gain_db, pan=c.pan, mute=c.mute, solo=c.solo,
                                room_send=c.room_send)
            synth.run_pending()
            return render_through(synth, fx, duration_s=atom_set.length_s,
                                  block=live.block_size, progress=progress)

        def work(progress):
            if live is not None:
                if not stems:
                    audio = engine_render(atom_set, fx_copies[0], progress)
                    write_audio(target, audio, sr)
                    return audio
                target.mkdir(parents=True, exist_ok=True)
                total = None
                for i, g in enumerate(groups):
                    sub = atom_set.replace(
                        resonant=atom_set.resonant.select(atom_set.resonant.group == g),
                        mdct=atom_set.mdct.select(atom_set.mdct.group == g))
                    audio = engine_render(sub, fx_copies[i],
                                          lambda f, i=i: progress((i + f) / len(groups)))
                    name = atom_set.group_name(g).replace("/", "_").replace(" ", "_")
                    write_audio(target / f"{g:02d}_{name}{suffix}", audio, sr)
                    total = audio if total is None else total + audio
                if total is not None:
                    write_audio(target / f"mix{suffix}", total, sr)
                return total
            if stems:
                out = render_baked(atom_set, mix, stems=True, progress=progress)
                target.mkdir(parents=True, exist_ok=True)
                total = None
                for g, audio in out.items():
                    audio = chain.process(audio, sr) if chain.active else audio
                    name = atom_set.group_name(g).replace("/", "_").replace(" ", "_")
                    write_audio(target / f"{g:02d}_{name}{suffix}", audio, sr)
                    total = audio if total is None else total + audio
                if total is not None:
                    write_audio(target / f"mix{suffix}", total, sr)
                return total
            audio = render_baked(atom_set, mix, progress=progress)
            if chain.active:
                audio = chain.process(audio, sr)
            write_audio(target, audio, sr)
            return audio

        def done(audio) -> None:
            self.last_render = audio
            self.statusBar().showMessage(f"rendered {target}", 8000)

        job = self.run_job(work, label=f"render {'stems' if stems else 'mix'} to {target}",
                           on_done=done)
        if wait:
            job.wait()
            QApplication.processEvents()
        return job

    def render_preview(self) -> None:
        """Render the atoms (no macros) for the waveform and spectrogram, in the background."""
        if self._preview_job is not None:
            self._preview_job.cancel()
        s = self.doc.atom_set
        if not s.n_atoms:
            return
        from atomsynth.gui.engine_bridge import engine_module

        mod = engine_module()

        def work(progress):
            dur = min(s.length_s, 600.0)
            if mod is not None:  # the streaming synthesizer: fast, same samples as reference
                eng = mod.Engine(s, sample_rate=s.sample_rate, output=False)
                audio = eng.render_offline(duration_s=dur, progress=progress)
            else:
                from atomsynth.rt.reference import render

                audio = render(s, duration_s=dur, progress=progress)
            return audio, spectrogram_image(audio, s.sample_rate)

        def done(result) -> None:
            if self.doc.atom_set is not s:
                return
            audio, spec = result
            self.preview_audio = audio
            self.view.set_waveform(audio, s.sample_rate)
            self.view.set_spectrogram(spec)

        self._preview_job = self.run_job(work, label="preview", on_done=done, dialog=False)


def _resolve(path):
    if path is None:
        return None
    from atomsynth.commands._common import resolve_atoms_path

    p = Path(path)
    if p.exists() or p.suffix:
        return p
    return resolve_atoms_path(str(path))


def main(argv: list[str] | None = None, *, path=None, device=None, audio: bool = True,
         screenshot: str | None = None, size: tuple[int, int] = (1500, 900)) -> int:
    """Run the app. ``screenshot``: save a PNG of the window once it is drawn, then quit."""
    import pyqtgraph as pg
    from atomsynth.gui.theme import apply_dark_theme

    if screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance() or QApplication(argv or ["atomsynth"])
    app.setApplicationName("atomsynth")
    apply_dark_theme(app)
    pg.setConfigOptions(antialias=True)
    try:
        path = _resolve(path)
    except AtomsynthError as exc:
        print(f"atomsynth gui: {exc}")
        path = None
    win = MainWindow(path=path, device=device, audio=audio and not screenshot)
    win.resize(*size)
    win.show()
    if screenshot:
        waited = [0]

        def shoot() -> None:
            if win.jobs and waited[0] < 240:  # let the preview render finish (up to 2 min)
                waited[0] += 1
                QTimer.singleShot(500, shoot)
                return
            s = win.doc.atom_set
            if len(s.resonant):  # show the inspector with a few atoms selected
                first = np.flatnonzero(s.resonant.group == s.resonant.group[0])[:6]
                win.doc.select(Selection.of(first))
            app.processEvents()
            win.grab().save(screenshot)
            print(f"wrote {screenshot}")
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        QTimer.singleShot(1000, shoot)
    return app.exec()


__all__ = ["MainWindow", "main", "ParameterError"]
