"""The effects panel: rooms and sends, the insert chain (add, reorder, remove), sliders.

Rooms belong to the atoms: "send" puts the selected (or all) resonant atoms into the chosen
room with the given wet level, an undoable edit (``room_requested``); the engine convolves each
room's bus with its impulse response. Insert edits change the session's :class:`EffectsChain`
and emit ``chain_changed`` (structure) or ``param_changed`` (a slider) so the window can pass
them to the engine's pedalboard bridge. A plugin that fails to load or to take a value shows a
message; it never takes the window down.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from atomsynth.gui.effects import (
    Effect,
    EffectParam,
    EffectsChain,
    builtin_names,
    load_vst3,
    make_builtin,
    room_files,
)
from atomsynth.gui.plugins import PluginBrowser, one_line
from atomsynth.rt.errors import AtomsynthError

_STEPS = 1000


class EffectsPanel(QWidget):
    """Signals: ``chain_changed()``, ``error(str)`` (a readable problem to show)."""

    chain_changed = Signal()
    param_changed = Signal(int, str, float)
    room_requested = Signal(str, float, bool)
    error = Signal(str)

    def __init__(self, chain: EffectsChain, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chain = chain
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)

        room = QGroupBox("room")
        rl = QFormLayout(room)
        self.room_combo = QComboBox()
        self.room_combo.setToolTip("bundled rooms and the impulse responses found in "
                                   "IMPULSE_RESPONSE_PATH")
        self.send_slider = QSlider(Qt.Orientation.Horizontal)
        self.send_slider.setRange(0, 100)
        self.send_slider.setValue(30)
        self.send_label = QLabel("0.30")
        self.send_slider.valueChanged.connect(
            lambda v: self.send_label.setText(f"{v / 100:.2f}"))
        row = QHBoxLayout()
        row.addWidget(self.send_slider, 1)
        row.addWidget(self.send_label)
        rl.addRow("impulse response", self.room_combo)
        rl.addRow("wet", row)
        row = QHBoxLayout()
        for text, all_atoms in (("send selection", False), ("send all", True)):
            b = QPushButton(text)
            b.setToolTip("put the resonant atoms into this room with this wet level (undoable)"
                         "; 'none' makes them dry")
            b.clicked.connect(lambda _=False, a=all_atoms: self.room_requested.emit(
                self.room_combo.currentData() or "", self.send_slider.value() / 100, a))
            row.addWidget(b)
        rl.addRow("", row)
        rl.addRow(QLabel("per-group send factors: Macros & mixer tab"))
        lay.addWidget(room)
        self.reload_rooms()

        ins = QGroupBox("insert effects (in order)")
        il = QVBoxLayout(ins)
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._show_params)
        il.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.add_combo = QComboBox()
        self.add_combo.addItems(builtin_names())
        add_btn = QPushButton("add")
        add_btn.clicked.connect(lambda: self.add_builtin(self.add_combo.currentText()))
        vst_btn = QPushButton("VST3…")
        vst_btn.setToolTip("load a VST3 plugin: the ones found in the standard folders, or "
                           "browse for a bundle")
        vst_btn.clicked.connect(self._add_vst3_dialog)
        row.addWidget(self.add_combo, 1)
        row.addWidget(add_btn)
        row.addWidget(vst_btn)
        il.addLayout(row)
        row = QHBoxLayout()
        for text, fn in (("▲", lambda: self.move(-1)), ("▼", lambda: self.move(1)),
                         ("remove", self.remove_current)):
            b = QPushButton(text)
            b.clicked.connect(fn)
            row.addWidget(b)
        il.addLayout(row)
        lay.addWidget(ins, 1)

        self.params_box = QGroupBox("parameters")
        self.params_form = QFormLayout(self.params_box)
        lay.addWidget(self.params_box)
        self.editor_button = QPushButton("open the plugin's editor…")
        self.editor_button.setToolTip("the plugin's own window (closes back to atomsynth)")
        self.editor_button.clicked.connect(self.open_editor)
        self.editor_button.setVisible(False)
        lay.addWidget(self.editor_button)
        self.settings = None  # QSettings for the plugin browser's folders (the window's)
        self.sliders: list[tuple[EffectParam, QSlider]] = []

    # -- room -----------------------------------------------------------------------------
    def reload_rooms(self) -> None:
        self.room_combo.blockSignals(True)
        self.room_combo.clear()
        self.room_combo.addItem("none (dry)", None)
        for name in room_files():
            self.room_combo.addItem(name, name)
        self.room_combo.setCurrentIndex(1 if self.room_combo.count() > 1 else 0)
        self.room_combo.blockSignals(False)

    # -- inserts --------------------------------------------------------------------------
    def sync_from_chain(self) -> None:
        """Show the chain's inserts (after the chain was replaced, e.g. by a session)."""
        self.list.blockSignals(True)
        self.list.clear()
        for e in self.chain.inserts:
            self.list.addItem(e.name)
        self.list.blockSignals(False)
        self.list.setCurrentRow(0 if self.chain.inserts else -1)
        self._show_params(self.list.currentRow())

    def _append(self, effect: Effect) -> None:
        self.chain.inserts.append(effect)
        self.list.addItem(effect.name)
        self.list.setCurrentRow(self.list.count() - 1)
        self.chain_changed.emit()

    def add_builtin(self, name: str) -> None:
        try:
            self._append(make_builtin(name))
        except AtomsynthError as exc:
            self.error.emit(str(exc))

    def add_vst3(self, path: str) -> bool:
        try:
            self._append(load_vst3(path))
        except AtomsynthError as exc:
            self.error.emit(one_line(str(exc)))
            return False
        return True

    def _add_vst3_dialog(self) -> None:
        browser = PluginBrowser(self, self.settings)
        if browser.exec() and browser.chosen is not None:
            self.add_vst3(str(browser.chosen))

    def open_editor(self) -> None:
        """Show the selected plugin's own editor window, where pedalboard and the display
        allow it (it blocks until the editor is closed)."""
        import os

        row = self.list.currentRow()
        if not 0 <= row < len(self.chain.inserts):
            return
        effect = self.chain.inserts[row]
        show = getattr(effect.plugin, "show_editor", None)
        if show is None:
            self.error.emit(f"{effect.name}: this plugin has no editor window")
            return
        if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
            self.error.emit(f"{effect.name}: no display for the plugin's editor "
                            "(offscreen); use the sliders")
            return
        try:
            show()
        except Exception as exc:  # noqa: BLE001 - plugin hosts raise anything
            self.error.emit(one_line(f"{effect.name}: the editor could not open ({exc})"))
            return
        self._show_params(row)  # the editor may have changed parameters
        self.chain_changed.emit()

    def move(self, delta: int) -> None:
        i = self.list.currentRow()
        j = i + delta
        if i < 0 or not 0 <= j < self.list.count():
            return
        self.chain.move(i, delta)
        item = self.list.takeItem(i)
        self.list.insertItem(j, item)
        self.list.setCurrentRow(j)
        self.chain_changed.emit()

    def remove_current(self) -> None:
        i = self.list.currentRow()
        if i < 0:
            return
        del self.chain.inserts[i]
        self.list.takeItem(i)
        self._show_params(self.list.currentRow())
        self.chain_changed.emit()

    def _show_params(self, row: int) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.sliders = []
        if not 0 <= row < len(self.chain.inserts):
            self.params_box.setTitle("parameters")
            return
        effect = self.chain.inserts[row]
        self.params_box.setTitle(f"{effect.name} parameters")
        self.editor_button.setVisible(effect.path is not None)
        for p in effect.params:
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(0, _STEPS)
            try:
                v = effect.get(p)
            except Exception:  # noqa: BLE001 - a plugin may refuse to report a value
                v = p.lo
            s.setValue(int(round((v - p.lo) / (p.hi - p.lo) * _STEPS)))
            val = QLabel(self.value_text(effect, p, v))
            val.setMinimumWidth(80)
            s.valueChanged.connect(lambda pos, e=effect, p=p, lab=val: self._param(e, p, pos, lab))
            row_l = QHBoxLayout()
            row_l.addWidget(s, 1)
            row_l.addWidget(val)
            self.params_form.addRow(self.param_label(effect, p), row_l)
            self.sliders.append((p, s))

    @staticmethod
    def _host_param(effect: Effect, p: EffectParam):
        params = getattr(effect.plugin, "parameters", None)
        return params.get(p.name) if p.raw and params is not None else None

    def param_label(self, effect: Effect, p: EffectParam) -> str:
        """A plugin parameter's own name and unit (``Gain [dB]``); built-ins: the attribute."""
        hp = self._host_param(effect, p)
        if hp is None:
            return p.name + (f" [{p.unit}]" if p.unit else "")
        unit = getattr(hp, "units", None) or getattr(hp, "label", None) or ""
        return f"{getattr(hp, 'name', p.name)}" + (f" [{unit}]" if unit else "")

    def value_text(self, effect: Effect, p: EffectParam, v: float) -> str:
        """The value in the parameter's units as the plugin shows it (not 0..1)."""
        hp = self._host_param(effect, p)
        if hp is None:
            return f"{v:.3g} {p.unit}".strip()
        try:
            text = str(hp.string_value)
        except Exception:  # noqa: BLE001
            text = f"{getattr(effect.plugin, p.name, v)}"
        unit = getattr(hp, "units", None) or getattr(hp, "label", None) or ""
        return f"{text} {unit}".strip()

    def _param(self, effect: Effect, p: EffectParam, pos: int, label: QLabel) -> None:
        value = p.lo + (p.hi - p.lo) * pos / _STEPS
        try:
            effect.set(p, value)
        except AtomsynthError as exc:
            self.error.emit(str(exc))
            return
        label.setText(self.value_text(effect, p, value))
        index = self.chain.inserts.index(effect)
        current = effect.values().get(p.name)
        if current is not None:
            self.param_changed.emit(index, p.name, float(current))
