"""Live macro controls (pitch, time stretch, decay, brightness, master gain) and the group mixer.

Every slider move is sent to the engine at once (``Engine.set_macro`` / ``set_group`` queue it,
so it is heard within a block) and kept in a :class:`MixSettings` for renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from atomsynth.gui.mixdown import MACRO_DEFAULTS, MixSettings
from atomsynth.rt.atoms import AtomSet


@dataclass(frozen=True)
class MacroSlider:
    """The slider of one macro of :data:`atomsynth.rt.macros.LIVE_MACROS` (what the macro
    does is defined there): engine name, label, slider range (in display units, inside the
    macro's allowed range) and conversion."""

    name: str
    label: str
    lo: float
    hi: float
    unit: str
    kind: str  # "semitones" (ratio 2^(x/12)), "log2" (ratio 2^x), "db" (value itself)

    def to_value(self, x: float) -> float:
        if self.kind == "semitones":
            return 2.0 ** (x / 12.0)
        if self.kind == "log2":
            return 2.0 ** x
        return x

    def from_value(self, v: float) -> float:
        if self.kind == "semitones":
            return 12.0 * math.log2(v)
        if self.kind == "log2":
            return math.log2(v)
        return v

    def text(self, v: float) -> str:
        if self.kind == "semitones":
            return f"{self.from_value(v):+.2f} st"
        if self.kind == "log2":
            return f"×{v:.3g}"
        return f"{v:+.1f} dB"


MACRO_SLIDERS = (
    MacroSlider("pitch", "pitch", -24, 24, "semitones", "semitones"),
    MacroSlider("time_stretch", "time stretch", -2, 2, "octaves", "log2"),
    MacroSlider("decay", "decay", -3, 3, "octaves", "log2"),
    MacroSlider("brightness", "brightness", -3, 3, "octaves", "log2"),
    MacroSlider("master_gain_db", "master gain", -60, 12, "dB", "db"),
)
"""One slider per live macro, in the order of :data:`~atomsynth.rt.macros.LIVE_MACROS`."""

_STEPS = 1000


class MacroPanel(QWidget):
    """Signals: ``macro_changed(name, value)``, ``group_changed(group, params: dict)``."""

    macro_changed = Signal(str, float)
    group_changed = Signal(int, dict)

    def __init__(self, settings: MixSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.grid = None  # the window's Grid: the pitch slider snaps with its pitch mode
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        box = QGroupBox("macros")
        grid = QGridLayout(box)
        self.sliders: dict[str, QSlider] = {}
        self.value_labels: dict[str, QLabel] = {}
        for row, spec in enumerate(MACRO_SLIDERS):
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(0, _STEPS)
            s.setToolTip(f"{spec.label}: {spec.lo:g} .. {spec.hi:g} {spec.unit} "
                         f"(engine macro {spec.name!r}); double-click the value to reset")
            val = QLabel()
            val.setMinimumWidth(70)
            reset = QPushButton("⟲")
            reset.setFixedWidth(28)
            reset.setToolTip("reset")
            reset.clicked.connect(lambda _=False, n=spec.name: self.set_macro(
                n, MACRO_DEFAULTS[n]))
            grid.addWidget(QLabel(spec.label), row, 0)
            grid.addWidget(s, row, 1)
            grid.addWidget(val, row, 2)
            grid.addWidget(reset, row, 3)
            self.sliders[spec.name] = s
            self.value_labels[spec.name] = val
            s.valueChanged.connect(lambda pos, sp=spec: self._slider_moved(sp, pos))
        lay.addWidget(box)

        gbox = QGroupBox("groups")
        gl = QVBoxLayout(gbox)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["group", "gain dB", "pan", "mute", "solo", "send"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        gl.addWidget(self.table)
        lay.addWidget(gbox, 1)
        self._group_ids: list[int] = []
        self.sync_from_settings()

    # -- macros ---------------------------------------------------------------------------
    def _spec(self, name: str) -> MacroSlider:
        return next(s for s in MACRO_SLIDERS if s.name == name)

    def _pos(self, spec: MacroSlider, value: float) -> int:
        x = spec.from_value(value)
        return int(round((x - spec.lo) / (spec.hi - spec.lo) * _STEPS))

    def _slider_moved(self, spec: MacroSlider, pos: int) -> None:
        x = spec.lo + (spec.hi - spec.lo) * pos / _STEPS
        if spec.kind == "semitones" and self.grid is not None:
            x = self.grid.snap_semitones(x)  # whole semitones, or cents
        value = spec.to_value(x)
        if pos == self._pos(spec, MACRO_DEFAULTS[spec.name]):
            value = MACRO_DEFAULTS[spec.name]  # exactly neutral at the centre notch
        self.settings.macros[spec.name] = value
        self.value_labels[spec.name].setText(spec.text(value))
        self.macro_changed.emit(spec.name, value)

    def set_macro(self, name: str, value: float) -> None:
        """Set a macro to exactly ``value`` and move its slider there (emits
        ``macro_changed``; the slider's 1000 steps do not round the value)."""
        spec = self._spec(name)
        s = self.sliders[name]
        s.blockSignals(True)
        s.setValue(self._pos(spec, value))
        s.blockSignals(False)
        self.settings.macros[spec.name] = float(value)
        self.value_labels[spec.name].setText(spec.text(value))
        self.macro_changed.emit(spec.name, float(value))

    def sync_from_settings(self) -> None:
        for spec in MACRO_SLIDERS:
            v = self.settings.macros.get(spec.name, MACRO_DEFAULTS[spec.name])
            s = self.sliders[spec.name]
            s.blockSignals(True)
            s.setValue(self._pos(spec, v))
            s.blockSignals(False)
            self.value_labels[spec.name].setText(spec.text(v))

    # -- groups ---------------------------------------------------------------------------
    def set_groups(self, atom_set: AtomSet, *, rebuild: bool = False) -> None:
        """One row per group of the set (controls keep their values across edits).

        ``rebuild``: make the rows anew from the settings even when the groups are the same
        (after the settings were reset, e.g. by a bake)."""
        ids = [int(g) for g in atom_set.groups]
        names = [atom_set.group_name(g) for g in ids]
        if ids == self._group_ids and not rebuild:
            for r, name in enumerate(names):
                w = self.table.cellWidget(r, 0)
                if isinstance(w, QLabel):
                    w.setText(f"{ids[r]}: {name}")
            return
        self._group_ids = ids
        self._checks: dict[int, dict[str, QCheckBox]] = {}
        self.table.setRowCount(len(ids))
        for r, (g, name) in enumerate(zip(ids, names, strict=True)):
            c = self.settings.group(g)
            self.table.setCellWidget(r, 0, QLabel(f"{g}: {name}"))
            gain = QDoubleSpinBox()
            gain.setRange(-60, 24)
            gain.setDecimals(1)
            gain.setValue(c.gain_db)
            gain.setKeyboardTracking(False)
            gain.valueChanged.connect(lambda v, g=g: self._group(g, gain_db=float(v)))
            pan = QDoubleSpinBox()
            pan.setRange(-1, 1)
            pan.setSingleStep(0.1)
            pan.setValue(c.pan)
            pan.setKeyboardTracking(False)
            pan.valueChanged.connect(lambda v, g=g: self._group(g, pan=float(v)))
            mute = QCheckBox()
            mute.setChecked(c.mute)
            mute.setToolTip(f"mute group {g}")
            mute.toggled.connect(lambda on, g=g: self._group(g, mute=bool(on)))
            solo = QCheckBox()
            solo.setChecked(c.solo)
            solo.setToolTip(f"solo group {g}")
            solo.toggled.connect(lambda on, g=g: self._group(g, solo=bool(on)))
            send = QDoubleSpinBox()
            send.setRange(0, 4)
            send.setSingleStep(0.1)
            send.setToolTip("factor on the room sends (wet) of the group's atoms, 0 to 4")
            send.setValue(c.room_send)
            send.setKeyboardTracking(False)
            send.valueChanged.connect(lambda v, g=g: self._group(g, room_send=float(v)))
            for col, w in enumerate((gain, pan, mute, solo, send), start=1):
                self.table.setCellWidget(r, col, w)
            self._checks[g] = {"mute": mute, "solo": solo}
        # fixed, compact control columns; the group's name takes the rest of the width
        for col, width in ((1, 62), (2, 62), (3, 40), (4, 40), (5, 58)):
            self.table.setColumnWidth(col, width)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def group_widget(self, group: int, column: str):
        """The control of ``group`` in ``column`` ("gain dB", "pan", "mute", "solo", "send")."""
        if column in ("mute", "solo"):
            return self._checks[group][column]
        cols = ["group", "gain dB", "pan", "mute", "solo", "send"]
        return self.table.cellWidget(self._group_ids.index(group), cols.index(column))

    def _group(self, group: int, **params) -> None:
        c = self.settings.group(group)
        for k, v in params.items():
            setattr(c, k, v)
        self.group_changed.emit(group, params)
