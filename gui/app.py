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
import time
from pathlib import Path

import numpy as np
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

from atomsynth.gui.atom_view import AtomView
from atomsynth.gui.compare import Original, OriginalPlayer, aligned, residual
from atomsynth.gui.document import AtomDocument, Selection
from atomsynth.gui.effects import EffectsChain
from atomsynth.gui.effects_panel import EffectsPanel
from atomsynth.gui.engine_bridge import EngineBridge, list_devices
from atomsynth.gui.grid import Grid
from atomsynth.gui.grid_bar import GridBar
from atomsynth.gui.inspector import Inspector
from atomsynth.gui.jobs import ANALYZERS, Job, ProcessJob, find_analyzer
from atomsynth.gui.macros import MacroPanel
from atomsynth.gui.meters import LevelMeter
from atomsynth.gui.mixdown import MixSettings, render_baked
from atomsynth.gui.recovery import Recovery, in_package, user_documents_dir
from atomsynth.gui.spectrogram import spectrogram_image
from atomsynth.gui.transport import TransportBar
from atomsynth.rt.atomfile import load
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.audio_io import AUDIO_SUFFIXES, is_audio_path
from atomsynth.rt.errors import AtomsynthError, ParameterError
from atomsynth.rt.session import session_path_for

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
                 preview: bool = True, recovery_dir: str | os.PathLike | None = None,
                 autosave_s: float = 30.0, offer_recovery: bool = False,
                 ask_fit_settings: bool = False) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("atomsynth", "atomsynth")
        self.errors: list[str] = []
        self.recovery = Recovery(recovery_dir)
        self.room_files: dict[str, str] = {}  # impulse responses from the session, by room
        self._reported_rooms: tuple[str, ...] = ()
        self.ask_fit_settings = ask_fit_settings
        self.quick_first = True  # an analysis-only first result while a fit refines it
        self._first_result: AtomSet | None = None
        self.refined_result: AtomSet | None = None
        self.original: Original | None = None  # the recording the atoms were fitted to
        self.player: OriginalPlayer | None = None  # plays the original (B) during A/B
        self.spectrogram_source = "atoms"
        self.own_path: Path | None = None  # the .atoms file the app opened or saved
        self.suggested_name: str | None = None  # Save As proposal for unsaved work (a fit)
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
        self.effects.settings = self.settings
        self.grid = Grid()
        self.grid_bar = GridBar(self.grid)
        self.view.set_grid(self.grid)
        self.macros.grid = self.grid

        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.transport)
        cl.addWidget(self.grid_bar)
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
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(1, int(autosave_s * 1000)))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

        if offer_recovery and self.offer_recovery():
            pass
        elif atom_set is not None:
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
        self._peak, self._peak_base = 0.0, 0.0
        self.output_name = ""
        for key, tip in (("output", "the audio device playing now"),
                         ("cpu", "CPU load of the audio render thread, now and its peak "
                                 "(click to reset the peak)"),
                         ("underflows", "engine: blocks the render thread delivered late "
                                        "(ring misses); device: the audio device's own "
                                        "underflows (xruns), since the stream started"),
                         ("atoms", "atoms sounding now"),
                         ("rate", "sample rate and output latency"),
                         ("fps", "view updates per second")):
            lab = QLabel("–")
            lab.setToolTip(tip)
            sb.addPermanentWidget(lab)
            self.status_labels[key] = lab
        self.status_labels["cpu"].mousePressEvent = lambda _ev: self.reset_cpu_peak()

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
        keys: list[QKeySequence] = []
        for k in [*QKeySequence.keyBindings(QKeySequence.StandardKey.Redo),
                  QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]:
            if k not in keys:  # the same key twice on one action makes it ambiguous
                keys.append(k)
        redo.setShortcuts(keys)
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
        self._action(e, "Use the &refined fit", self.use_refined,
                     tip="replace the edited first result with the finished fit (undoable)")
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
        src = v.addMenu("Spectrogram &of")
        self.spec_source_actions = {}
        for key, text in (("atoms", "the &atoms"), ("original", "the &original recording"),
                          ("residual", "the &residual (original − atoms)")):
            act = QAction(text, self)
            act.setCheckable(True)
            act.setChecked(key == "atoms")
            act.triggered.connect(lambda _=False, k=key: self.show_analysis(k))
            src.addAction(act)
            self.spec_source_actions[key] = act

        n = e.addMenu("&Nudge selection")
        for text, key, dt, steps in (("Earlier", "Left", -1, 0), ("Later", "Right", 1, 0),
                                     ("Up (semitone / cent)", "Up", 0, 1),
                                     ("Down (semitone / cent)", "Down", 0, -1),
                                     ("Up an octave", "Shift+Up", 0, 12),
                                     ("Down an octave", "Shift+Down", 0, -12)):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(key))
            # only while the view has the focus: arrows keep their meaning in fields
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, dt=dt, st=steps: self.nudge(dt, st))
            n.addAction(act)
            self.view.addAction(act)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        t = mb.addMenu("&Transport")
        self.play_action = self._action(t, "&Play / pause", self.toggle_play,
                                        QKeySequence(Qt.Key.Key_Space))
        self.play_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._action(t, "Back to &start", lambda: self.seek(0.0), QKeySequence("Home"))
        self._action(t, "&Loop the selection", self.loop_selection, QKeySequence("L"))
        self.ab_action = self._action(
            t, "A/B: hear the &original", self.set_ab, QKeySequence("B"), checkable=True,
            tip="switch playback between the atoms (A) and the recording they came from (B)")

    def nudge(self, time_steps: int, pitch_steps: int) -> None:
        """Move the selection by grid steps: time (a grid step, or 10 ms without time snap)
        or pitch (a semitone, or a cent in cent mode; 12 steps: an octave)."""
        if not len(self.doc.selection):
            return
        dt = time_steps * self.grid.time_step_s()
        if abs(pitch_steps) == 12:
            ratio = 2.0 ** (pitch_steps / 12)
        else:
            ratio = self.grid.pitch_step_ratio() ** pitch_steps
        self.guard(self.doc.move_selection)(dt, ratio)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt naming
        """Undo and redo reach the document from every field of the window: a text field's
        own undo (which would take Ctrl+Z) is passed over for the window's."""
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and isinstance(obj, QWidget) and self.isAncestorOf(obj)):
            if (event.matches(QKeySequence.StandardKey.Undo)
                    or event.matches(QKeySequence.StandardKey.Redo)
                    or event.keyCombination().toCombined()
                    == QKeySequence("Ctrl+Y")[0].toCombined()):
                event.ignore()
                return True  # not offered to the field: the window's shortcut runs
        return super().eventFilter(obj, event)

    def _connect(self) -> None:
        QApplication.instance().installEventFilter(self)
        self.grid_bar.changed.connect(self.view.update_beats)
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
        devices = list_devices()
        current = self.playing_device(devices) if self.bridge.has_output else None
        self.output_name = (f"{current['name']} ({current['hostapi']})" if current
                            else ("default device" if self.bridge.has_output else ""))
        self.transport.set_devices(devices, current["index"] if current else None)
        self._peak, self._peak_base = 0.0, 0.0
        if problem:
            self.statusBar().showMessage(problem, 15000)
            self.errors.append(problem)
        eng = self.bridge.engine
        if eng is not None:
            loaded = {name for name, f in self.room_files.items()
                      if name in self.doc.atom_set.room_names
                      and eng.effects.set_room_file(name, f)}  # swapped in at the next block
            missing = [r.name for r in eng.effects.rooms if r.ir is None and r.name not in loaded]
            if missing and tuple(missing) != self._reported_rooms:
                self._reported_rooms = tuple(missing)
                self.show_error(
                    "no impulse response for room(s) " + ", ".join(repr(m) for m in missing)
                    + ": their sends play dry. Put the IR files in IMPULSE_RESPONSE_PATH or "
                    "send the atoms to another room (Effects tab).")
        self._chain_changed()

    def playing_device(self, devices: list[dict]) -> dict | None:
        """The device the engine opened (the default output when none was named)."""
        try:
            from atomsynth.rt.engine import resolve_output_device

            index = resolve_output_device(self.bridge.device)
        except Exception:  # noqa: BLE001 - no PortAudio, no device: nothing to name
            return None
        return next((d for d in devices if d.get("index") == index), None)

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

    # -- comparing with the recording -----------------------------------------------------
    def set_ab(self, on: bool) -> bool:
        """B (``on``): pause the atoms and play the original from the same position;
        A: stop the original and play the atoms from where it was. False when there is no
        original."""
        if on and self.original is None:
            self.ab_action.setChecked(False)
            self.statusBar().showMessage("A/B needs a recording: open an audio file (it is "
                                         "analyzed into atoms) to compare with it", 8000)
            return False
        if on:
            was_playing = self.bridge.playing
            pos = self.bridge.position_s
            self.bridge.pause()
            self.player = OriginalPlayer(self.original, device=self.bridge.device,
                                         output=self.bridge.has_output)
            self.player.seek(pos)
            if was_playing:
                try:
                    self.player.play(pos)
                except Exception as exc:  # noqa: BLE001 - PortAudio errors become a message
                    self.show_error(f"cannot play the original: {exc}")
            self.ab_action.setChecked(True)
            self.statusBar().showMessage("B: the original recording", 4000)
        elif self.player is not None:
            player, self.player = self.player, None
            playing = player.playing
            player.stop()
            self.seek(player.position_s)
            if playing:
                self.bridge.play()
            self.ab_action.setChecked(False)
            self.statusBar().showMessage("A: the atoms", 4000)
        return True

    @property
    def ab_source(self) -> str:
        return "B" if self.player is not None else "A"

    def show_analysis(self, kind: str) -> None:
        """Spectrogram of the atoms, the original or the residual (original − atoms), made
        in the background."""
        for k, act in self.spec_source_actions.items():
            act.setChecked(k == kind)
        if kind != "atoms" and self.original is None:
            self.statusBar().showMessage("no recording to compare with: open an audio file",
                                         8000)
            self.spec_source_actions["atoms"].setChecked(True)
            kind = "atoms"
        self.spectrogram_source = kind
        s, original = self.doc.atom_set, self.original

        def work(progress):
            sr = s.sample_rate
            if kind == "original":
                audio = aligned(original, sr, s.channels)
            else:
                dur = original.duration_s if original is not None else s.length_s
                from atomsynth.rt.engine import Engine

                audio = Engine(s, sample_rate=sr, output=False).render_offline(
                    duration_s=dur, progress=progress)
                if kind == "residual":
                    audio = residual(original, audio, sr)
            return audio, spectrogram_image(audio, sr)

        def done(result) -> None:
            audio, spec = result
            self.analysis_audio = audio
            self.view.set_spectrogram(spec)
            self.view.show_spectrogram(True)
            self.spec_action.setChecked(True)
            if kind == "atoms":
                self.preview_audio = audio
                self.view.set_waveform(audio, s.sample_rate)

        self.run_job(work, label=f"spectrogram of the {kind}", on_done=done, dialog=False)

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
        """Timer: playhead, meters, transport and status (about 30 times a second).

        Live figures (CPU, atoms playing) only while the engine plays, "—" otherwise;
        engine underflows (render thread late: ring misses) and device xruns (PortAudio
        underflows) apart; the CPU peak is the highest load since the last reset (click it).
        """
        self._show_notices()
        stats = self.bridge.stats()
        if self.player is not None:
            pos = self.player.position_s
        else:
            pos = float(stats.get("position_s", self.bridge.position_s))
        self.view.set_playhead(pos)
        self.transport.set_position(pos)
        playing = self.bridge.playing
        self.transport.set_playing(playing or bool(self.player and self.player.playing))
        lab = self.status_labels
        lab["output"].setText(self.output_text())
        if stats:
            self.meter.set_levels(stats.get("levels_db", []))
            misses = int(stats.get("ring_misses", 0))
            xruns = int(stats.get("portaudio_underflows", 0))
            lab["underflows"].setText(f"underflows: engine {misses}, device {xruns}")
            lab["rate"].setText(f"{stats.get('sample_rate', 0)} Hz, "
                                f"{1000 * stats.get('latency_s', 0):.1f} ms")
        else:
            lab["underflows"].setText("underflows —")
            lab["rate"].setText(f"{self.doc.atom_set.sample_rate} Hz")
        if stats and playing:
            load = float(stats.get("cpu_load", 0.0))
            engine_peak = float(stats.get("cpu_load_peak", 0.0))
            if engine_peak > self._peak_base:  # a new high since the reset
                self._peak = max(self._peak, engine_peak)
            self._peak = max(self._peak, load)
            lab["cpu"].setText(f"CPU {100 * load:.0f}% (peak {100 * self._peak:.0f}%)")
            lab["atoms"].setText(f"{stats.get('atoms_playing', 0)} atoms playing")
        else:
            lab["cpu"].setText("CPU — (peak " + (f"{100 * self._peak:.0f}%)" if self._peak
                                                 else "—)"))
            lab["atoms"].setText("atoms playing —")
        lab["fps"].setText(f"{self.view.fps:.0f} fps")

    def _show_notices(self) -> None:
        """The audio server's watchdog messages (a crash, the plugin that caused it, playback
        restored; a lost or returned device): status bar and the error list / message box."""
        notices = self.bridge.take_notices()
        if not notices:
            return
        from atomsynth.gui.engine_bridge import describe_notice

        plugins = {str(e.path): str(getattr(e.plugin, "name", "") or e.name)
                   for e in self.chain.inserts if e.path is not None}
        for message in notices:
            self.show_error(describe_notice(message, plugins))

    def reset_cpu_peak(self) -> None:
        """Start the CPU peak afresh (the engine's own peak is kept as the new baseline)."""
        stats = self.bridge.stats()
        self._peak_base = float(stats.get("cpu_load_peak", 0.0)) if stats else 0.0
        self._peak = 0.0
        self.tick()

    def output_text(self) -> str:
        """The device actually playing, or why nothing plays."""
        if self.player is not None:
            return f"B: original → {self.output_name or 'no device'}"
        if self.bridge.engine is not None and self.bridge.has_output:
            return f"output: {self.output_name}"
        return "no audio output"

    # -- files ----------------------------------------------------------------------------
    def _fill_examples(self) -> None:
        from atomsynth.rt.examples import example_paths

        self.examples_menu.clear()
        for p in example_paths():
            act = self.examples_menu.addAction(p.stem)
            act.triggered.connect(lambda _=False, p=p: self.open_path(p, ask=True))
        demo = self.examples_menu.addAction("generated demo phrase")
        demo.triggered.connect(self.open_demo)

    def open_demo(self) -> None:
        from atomsynth.gui.demo import demo_atom_set

        if self.maybe_save():
            self.doc.reset(demo_atom_set(48))

    def open_default(self) -> None:
        from atomsynth.rt.examples import resolve_atoms_path

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
            self, "Open", str(self.default_dir()),
            "Atoms and audio (*.atoms *.wav *.flac *.ogg *.aif *.aiff *.mp3 *.opus);;"
            "All files (*)")
        if path:
            self.open_path(path, ask=True)

    def open_path(self, path, *, ask: bool = False) -> bool:
        """Open an ``.atoms`` file (and the session beside it), or analyze an audio file in
        the background."""
        path = Path(path)
        if ask and not self.maybe_save():
            return False
        if is_audio_path(path):
            return self.analyze_audio(path)
        try:
            atom_set = load(path)
        except (AtomsynthError, OSError) as exc:
            self.show_error(f"could not open {path}: {exc}")
            return False
        problems = self._load_session(session_path_for(path), atom_set)
        self.doc.reset(atom_set, path)
        self.own_path = None if in_package(path) else path.resolve()
        self.suggested_name = None
        self._add_recent(path)
        self.statusBar().showMessage(f"opened {path}", 5000)
        if problems:
            self.show_error(f"{path.name}: opened without " + "; ".join(problems))
        return True

    def _load_session(self, spath: Path, atom_set: AtomSet) -> list[str]:
        """Restore the session at ``spath`` (if any) for ``atom_set``: macros, mixer, inserts,
        rooms. Returns what could not be restored, one line each."""
        from atomsynth.gui.session_io import restore
        from atomsynth.rt.session import Session, read_session

        self.room_files = {}
        problems: list[str] = []
        session = Session()
        if spath.is_file():
            try:
                session = read_session(spath)
            except AtomsynthError as exc:
                problems.append(f"its session ({exc})")
        self.room_files, more = restore(session, atom_set, self.mix, self.chain,
                                        base_dir=spath.parent)
        problems += more
        self.macros.sync_from_settings()
        self.macros.set_groups(atom_set, rebuild=True)  # mixer rows from the restored controls
        self.effects.sync_from_chain()
        self._reported_rooms = tuple(n for n in atom_set.room_names if n not in self.room_files
                                     and any(n in p for p in problems))
        return problems

    def session(self, atoms_path: Path):
        """The app's current session (what :meth:`save` writes beside ``atoms_path``)."""
        from atomsynth.gui.session_io import capture

        files = dict(self.room_files)
        eng = self.bridge.engine
        if eng is not None:
            files.update({r.name: r.source for r in eng.effects.rooms if r.ir is not None})
        return capture(self.doc.atom_set, self.mix, self.chain, session_dir=atoms_path.parent,
                       atoms_name=atoms_path.name, room_files=files,
                       block_size=self.bridge.block_size)

    def can_save_in_place(self) -> bool:
        """True when Save may write to the document's file without asking: a ``.atoms``
        file this app opened or saved, outside the installed package."""
        p = self.doc.path
        return (p is not None and p.suffix.lower() == ".atoms" and self.own_path is not None
                and p.resolve() == self.own_path and not in_package(p))

    def save(self) -> bool:
        if not self.can_save_in_place():
            return self.save_as()
        return self._save_to(self.doc.path)

    def default_dir(self) -> Path:
        """Where file dialogs start: the document's folder (not inside the installed
        package), else the last folder used, else the user's documents folder."""
        for p in (self.doc.path, Path(self.suggested_name) if self.suggested_name else None):
            if p is not None and p.is_absolute() and not in_package(p) and p.parent.is_dir():
                return p.parent
        last = self.settings.value("last_dir", "")
        if last and Path(str(last)).is_dir() and not in_package(Path(str(last))):
            return Path(str(last))
        return user_documents_dir()

    def save_as(self) -> bool:
        name = self.suggested_name or (self.doc.path.stem if self.doc.path else "untitled")
        name = Path(name).stem + ".atoms"
        start = str(self.default_dir() / name)
        path, _ = QFileDialog.getSaveFileName(self, "Save atoms", start, "Atoms (*.atoms)")
        if not path:
            return False
        if not path.endswith(".atoms"):
            path += ".atoms"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        """Write the atoms and the session beside them (both atomically)."""
        from atomsynth.rt.session import write_session

        if in_package(path):
            self.show_error(f"not saving into the installed package ({path.parent}); "
                            "choose a folder of your own with Save As")
            return False
        try:
            session = self.session(path)
            self.doc.save(path)
            write_session(session, session_path_for(path))
        except (AtomsynthError, OSError) as exc:
            self.show_error(f"could not save {path}: {exc}")
            return False
        self.own_path = path.resolve()
        self.suggested_name = None
        self.settings.setValue("last_dir", str(path.parent))
        self.recovery.clear()
        self._add_recent(path)
        self.statusBar().showMessage(f"saved {path} and {session_path_for(path).name}", 5000)
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

    # -- autosave and recovery ------------------------------------------------------------
    def autosave(self) -> Path | None:
        """Write unsaved work (atoms + session) to the recovery folder; None when clean."""
        if not self.doc.dirty:
            return None
        try:
            return self.recovery.write(self.doc.atom_set, self.session(self.recovery.atoms_path),
                                       self.doc.path, self.suggested_name)
        except (AtomsynthError, OSError) as exc:
            self.statusBar().showMessage(f"autosave failed: {exc}", 8000)
            return None

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest recovery file. True when it was opened."""
        found = self.recovery.find_orphan()
        if found is None:
            return False
        atoms_path, info = found
        answer = QMessageBox.question(
            self, "Recover unsaved work?",
            f"atomsynth did not quit normally. Recover the unsaved work on "
            f"{info.get('title', 'untitled')} autosaved at {info.get('time', '?')}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
            QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            self.recovery.discard(atoms_path)
            return False
        try:
            atom_set = load(atoms_path)
        except (AtomsynthError, OSError) as exc:
            self.show_error(f"could not recover {atoms_path}: {exc}")
            return False
        problems = self._load_session(session_path_for(atoms_path), atom_set)
        self.doc.reset(AtomSet(sample_rate=atom_set.sample_rate, channels=atom_set.channels))
        original = info.get("path")
        self.doc.path = Path(original) if original else None
        self.own_path = Path(original).resolve() if original and not in_package(
            Path(original)) else None
        self.suggested_name = info.get("suggested") or None
        self.doc.apply(atom_set, "recovered work")
        self.view.reset_range(atom_set)
        self.recovery.discard(atoms_path)
        self.autosave()
        if problems:
            self.show_error("recovered without " + "; ".join(problems))
        return True

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if not self.maybe_save():
            event.ignore()
            return
        self.timer.stop()
        self.preview_timer.stop()
        self.autosave_timer.stop()
        QApplication.instance().removeEventFilter(self)
        if self.player is not None:
            self.player.stop()
        for job in list(self.jobs):
            job.cancel()
            job.wait(10000)
        self.bridge.close()
        self.recovery.clear()  # saved or discarded: nothing left to recover
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
        return self._track(Job(fn, label=label, parent=self), label, on_done, dialog)

    def run_process(self, task: str, args: dict, *, label: str, on_done, collect=None,
                    dialog: bool = True) -> ProcessJob:
        """Run ``task`` of :mod:`atomsynth.offline.worker` in a worker process (progress on a
        queue, Cancel terminates it); ``collect`` reads its result files back."""
        job = ProcessJob(task, args, label=label, collect=collect, parent=self)
        return self._track(job, label, on_done, dialog)

    def _track(self, job, label: str, on_done, dialog: bool):
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
            t0 = time.perf_counter()

            def shown(f: float) -> None:
                if not alive[0]:
                    return
                dlg.setValue(int(f * 1000))
                elapsed = time.perf_counter() - t0
                if f > 0.02 and elapsed > 1.0:
                    dlg.setLabelText(f"{label}\nabout {elapsed * (1 - f) / f:.0f} s left")

            job.progress.connect(shown)
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

    def analyze_audio(self, path: Path, kind: str | None = None,
                      options: dict | None = None) -> bool:
        """Fit or atomize an audio file in the background; the result opens unsaved.

        With ``ask_fit_settings`` the fit settings dialog asks first (rate, atom budget,
        quality). Nothing heavy runs here: the analyzer (and PyTorch) is imported by the job.
        """
        if self.ask_fit_settings and options is None:
            chosen = self.fit_settings_dialog(path)
            if chosen is None:
                return False
            kind, options = chosen
        fn, what = find_analyzer(kind)
        if fn is None:
            self.show_error(f"{path.name}: {what}")
            return False
        options = dict(options or {})
        quick = None
        if self.quick_first and what == ANALYZERS["fit"][1]:
            quick_fn, quick_what = find_analyzer("atomize")
            if quick_fn is not None and quick_fn is not fn:
                quick = quick_fn, quick_what
        t0 = time.perf_counter()

        def reader(analyzer, opts):
            def work(progress):
                from atomsynth.rt.audio_io import read_audio

                audio, sr = read_audio(path)
                atom_set = analyzer(audio, sample_rate=sr, progress=progress, **opts)
                return atom_set, Original(np.asarray(audio, dtype=np.float64), sr, path)
            return work

        def start(analyzer, opts, label, on_done) -> None:
            """A registered analyzer runs in a worker process and writes an .atoms file;
            any other function (one that cannot be named in another process) in a thread."""
            kind = next((k for k, v in ANALYZERS.items() if v[0] is analyzer), None)
            if kind is None:
                self.run_job(reader(analyzer, opts), label=label, on_done=on_done)
                return
            import tempfile

            out = Path(tempfile.mkdtemp(prefix="atomsynth-job-")) / f"{path.stem}.atoms"

            def collect(result):
                from atomsynth.rt.atomfile import load
                from atomsynth.rt.audio_io import read_audio

                try:
                    atom_set = load(result["atoms"])
                finally:
                    _remove_job_dir(out)
                audio, sr = read_audio(path)
                return atom_set, Original(np.asarray(audio, dtype=np.float64), sr, path)

            job = self.run_process("analyze", {"audio_path": str(path), "kind": kind,
                                               "options": dict(opts), "out_path": str(out)},
                                   label=label, on_done=on_done, collect=collect)
            job.cancelled.connect(lambda: _remove_job_dir(out))
            job.failed.connect(lambda _m: _remove_job_dir(out))

        def refined(result) -> None:
            atom_set, original = result
            if not self._check_analysis(atom_set, path):
                return
            if options.get("iterations"):
                from atomsynth.gui.fit_dialog import work_units

                units = work_units(original.duration_s,
                                   options.get("sample_rate") or original.sample_rate,
                                   options["iterations"])
                if units > 0:
                    self.settings.setValue("fit_seconds_per_unit",
                                           (time.perf_counter() - t0) / units)
            if quick is not None and self.doc.atom_set is not self._first_result:
                self.refined_result = atom_set
                self.show_error(f"{path.name}: the refined fit is ready but you have edited "
                                "the first result; Edit ▸ Use the refined fit replaces it")
                return
            if quick is not None:
                self.doc.apply(atom_set, f"{what} {path.name} (refined)")
                self.view.reset_range(atom_set)
                self.statusBar().showMessage(f"{path.name}: refined by the fit "
                                             "(Ctrl+Z: back to the first result)", 8000)
            else:
                self._install_analysis(atom_set, original, path, what)

        if quick is None:
            start(fn, options, f"{what}: {path.name}", refined)
            return True

        def first(result) -> None:
            atom_set, original = result
            if not self._check_analysis(atom_set, path):
                return
            self._install_analysis(atom_set, original, path, f"{quick[1]} (first result)")
            self._first_result = self.doc.atom_set
            self.statusBar().showMessage(f"{path.name}: first result from analysis; "
                                         f"{what} refines it in the background", 8000)
            start(fn, options, f"{what}: {path.name}", refined)

        start(quick[0], {}, f"{quick[1]}: {path.name}", first)
        return True

    def _check_analysis(self, atom_set, path: Path) -> bool:
        if not isinstance(atom_set, AtomSet):
            self.show_error(f"{path.name}: the analyzer returned {type(atom_set).__name__}, "
                            "not an AtomSet")
            return False
        return True

    def _install_analysis(self, atom_set: AtomSet, original: Original, path: Path,
                          what: str) -> None:
        """Open an analysis result as unsaved work with no file (Save asks where: the
        .atoms beside the recording may be another, older piece of work)."""
        self.set_ab(False)
        self.original = original
        self.refined_result = None
        self.doc.reset(AtomSet(sample_rate=atom_set.sample_rate, channels=atom_set.channels))
        self.own_path = None
        self.suggested_name = str(path.with_suffix(".atoms"))
        self.doc.apply(atom_set, f"{what} {path.name}")
        self.view.reset_range(atom_set)

    def use_refined(self) -> None:
        """Replace the set with the refined fit kept aside (undoable)."""
        if self.refined_result is None:
            self.statusBar().showMessage("no refined fit is waiting", 5000)
            return
        atom_set, self.refined_result = self.refined_result, None
        self.doc.apply(atom_set, "use the refined fit", Selection())
        self.view.reset_range(atom_set)

    def fit_settings_dialog(self, path: Path):
        """Ask how to analyze ``path``: ``(kind, options)`` or None when cancelled."""
        import soundfile as sf

        from atomsynth.gui.fit_dialog import FitSettingsDialog
        from atomsynth.gui.jobs import ANALYZERS, missing_module

        try:
            info = sf.info(str(path))
            rate, dur = int(info.samplerate), float(info.duration)
        except Exception as exc:  # noqa: BLE001 - unreadable file: one message
            self.show_error(f"{path.name}: cannot read ({exc})")
            return None
        fit_ok = not any(missing_module(m) for m in ANALYZERS["fit"][2])
        dlg = FitSettingsDialog(rate, dur, fit_available=fit_ok, settings=self.settings,
                                parent=self)
        if not dlg.exec():
            return None
        return dlg.kind, dlg.options()

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
        from atomsynth.rt.replay import (
            Controls,
            render_stems_with_controls,
            render_with_controls,
            write_stems,
        )

        atom_set, mix, chain = self.doc.atom_set, self.mix, self.chain
        sr = atom_set.sample_rate
        suffix = target.suffix if not stems and target.suffix else ".wav"
        live = self.bridge.engine

        # Effects are cloned here, in the GUI thread: hosted VST3 plugins must be created (and
        # their parameters set) on the thread that loads them (JUCE), not in the worker.
        groups = mix.audible_groups(atom_set.groups) if stems else [None]
        fx_copies = ([live.effects.clone() if live.effects.active else None for _ in groups]
                     if live is not None else [])

        if live is not None:
            controls = Controls(macros=dict(mix.macros), groups={
                g: dict(gain_db=c.gain_db, pan=c.pan, mute=c.mute, solo=c.solo,
                        room_send=c.room_send) for g, c in mix.groups.items()})
            kw = dict(sample_rate=sr, controls=controls, n_rooms=live.n_rooms,
                      duration_s=atom_set.length_s, block=live.block_size)

        def work(progress):
            if live is not None:
                if not stems:
                    audio = render_with_controls(atom_set, effects=fx_copies[0],
                                                 progress=progress, **kw)
                    write_audio(target, audio, sr)
                    return audio
                copies = iter(fx_copies)
                out = render_stems_with_controls(atom_set, groups, effects=lambda: next(copies),
                                                 progress=progress, **kw)
                return write_stems(target, out, atom_set, sr, suffix=suffix)
            if stems:
                out = render_baked(atom_set, mix, stems=True, progress=progress)
                out = {g: chain.process(audio, sr) if chain.active else audio
                       for g, audio in out.items()}
                return write_stems(target, out, atom_set, sr, suffix=suffix)
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
        from atomsynth.rt.engine import Engine

        def work(progress):
            dur = min(s.length_s, 600.0)
            # the streaming synthesizer (and the set's rooms): fast, same samples as reference
            eng = Engine(s, sample_rate=s.sample_rate, output=False)
            audio = eng.render_offline(duration_s=dur, progress=progress)
            return audio, spectrogram_image(audio, s.sample_rate)

        def done(result) -> None:
            if self.doc.atom_set is not s:
                return
            audio, spec = result
            self.preview_audio = audio
            self.view.set_waveform(audio, s.sample_rate)
            self.view.set_spectrogram(spec)

        self._preview_job = self.run_job(work, label="preview", on_done=done, dialog=False)


def _remove_job_dir(out: Path) -> None:
    """Remove a worker's result file and its temporary folder (ignores what is gone)."""
    import shutil

    shutil.rmtree(out.parent, ignore_errors=True)


def _resolve(path):
    if path is None:
        return None
    from atomsynth.rt.examples import resolve_atoms_path

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
    win = MainWindow(path=path, device=device, audio=audio and not screenshot,
                     offer_recovery=not screenshot, ask_fit_settings=not screenshot)
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
