"""The grid bar: pitch snap (off, semitone, cent, scale + root), tempo, time snap, beat lines.

Edits the window's :class:`~atomsynth.gui.grid.Grid` in place and emits ``changed``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from atomsynth.gui.grid import NOTE_NAMES, PITCH_MODES, SCALES, Grid


class GridBar(QWidget):
    """Signals: ``changed()`` after any grid setting changed."""

    changed = Signal()

    def __init__(self, grid: Grid, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = grid
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        lay.addWidget(QLabel("pitch snap"))
        self.pitch_combo = QComboBox()
        self.pitch_combo.addItems(list(PITCH_MODES))
        self.pitch_combo.setToolTip("drags, arrow keys and the pitch macro land on semitones, "
                                    "cents or the notes of a scale (A4 = 440 Hz)")
        lay.addWidget(self.pitch_combo)
        self.root_combo = QComboBox()
        self.root_combo.addItems(list(NOTE_NAMES))
        self.scale_combo = QComboBox()
        self.scale_combo.addItems(list(SCALES))
        lay.addWidget(self.root_combo)
        lay.addWidget(self.scale_combo)
        lay.addSpacing(12)
        self.time_check = QCheckBox("time snap")
        self.time_check.setToolTip("drags and arrow keys move onsets on the tempo grid")
        lay.addWidget(self.time_check)
        self.bpm = QDoubleSpinBox()
        self.bpm.setRange(20.0, 400.0)
        self.bpm.setDecimals(1)
        self.bpm.setSuffix(" BPM")
        self.bpm.setKeyboardTracking(False)
        lay.addWidget(self.bpm)
        lay.addWidget(QLabel("steps/beat"))
        self.division = QSpinBox()
        self.division.setRange(1, 16)
        lay.addWidget(self.division)
        self.beats_check = QCheckBox("show beats")
        lay.addWidget(self.beats_check)
        lay.addStretch(1)
        self.sync()
        for w, sig in ((self.pitch_combo, "currentTextChanged"),
                       (self.root_combo, "currentIndexChanged"),
                       (self.scale_combo, "currentTextChanged"),
                       (self.time_check, "toggled"), (self.bpm, "valueChanged"),
                       (self.division, "valueChanged"), (self.beats_check, "toggled")):
            getattr(w, sig).connect(self._read)

    def sync(self) -> None:
        """Show the grid's settings (without emitting)."""
        g = self.grid
        widgets = (self.pitch_combo, self.root_combo, self.scale_combo, self.time_check,
                   self.bpm, self.division, self.beats_check)
        for w in widgets:
            w.blockSignals(True)
        self.pitch_combo.setCurrentText(g.pitch_mode)
        self.root_combo.setCurrentIndex(g.root)
        self.scale_combo.setCurrentText(g.scale)
        self.time_check.setChecked(g.time_snap)
        self.bpm.setValue(g.bpm)
        self.division.setValue(g.division)
        self.beats_check.setChecked(g.show_beats)
        for w in widgets:
            w.blockSignals(False)
        self._enable()

    def _enable(self) -> None:
        scale = self.grid.pitch_mode == "scale"
        self.root_combo.setEnabled(scale)
        self.scale_combo.setEnabled(scale)

    def _read(self, *_args) -> None:
        g = self.grid
        g.pitch_mode = self.pitch_combo.currentText()
        g.root = self.root_combo.currentIndex()
        g.scale = self.scale_combo.currentText()
        g.time_snap = self.time_check.isChecked()
        g.bpm = float(self.bpm.value())
        g.division = int(self.division.value())
        g.show_beats = self.beats_check.isChecked()
        self._enable()
        self.changed.emit()
