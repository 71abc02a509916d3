"""Transport bar: play/pause, back to start, position, loop region, output device."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)


def format_time(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60.0)
    return f"{int(m):d}:{s:06.3f}"


class TransportBar(QWidget):
    """Signals: ``play_clicked()``, ``rewind_clicked()``, ``loop_changed(object)`` (a
    ``(start_s, end_s)`` tuple or ``None``) and ``device_chosen(object)`` (index, or ``None``
    for no audio output)."""

    play_clicked = Signal()
    rewind_clicked = Signal()
    loop_changed = Signal(object)
    device_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        self.rewind_btn = QPushButton("◀◀")
        self.rewind_btn.setToolTip("back to the start (Home)")
        self.rewind_btn.clicked.connect(self.rewind_clicked)
        self.play_btn = QPushButton("▶ play")
        self.play_btn.setToolTip("play / pause (Space)")
        self.play_btn.setMinimumWidth(80)
        self.play_btn.clicked.connect(self.play_clicked)
        self.position = QLabel(format_time(0.0))
        self.position.setMinimumWidth(80)
        self.loop_check = QCheckBox("loop")
        self.loop_start = QDoubleSpinBox()
        self.loop_end = QDoubleSpinBox()
        for box in (self.loop_start, self.loop_end):
            box.setRange(0.0, 86400.0)
            box.setDecimals(3)
            box.setSuffix(" s")
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._loop_edited)
        self.loop_end.setValue(1.0)
        self.loop_check.toggled.connect(self._loop_edited)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("audio output device")
        self.device_combo.setMinimumWidth(160)
        self.device_combo.activated.connect(
            lambda i: self.device_chosen.emit(self.device_combo.itemData(i)))
        for w in (self.rewind_btn, self.play_btn, self.position, self.loop_check,
                  self.loop_start, QLabel("–"), self.loop_end):
            lay.addWidget(w)
        lay.addStretch(1)
        lay.addWidget(QLabel("output"))
        lay.addWidget(self.device_combo)

    def set_devices(self, devices: list[dict], current=None) -> None:
        """Fill the device list: "no audio output" plus the engine's devices."""
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("no audio output", None)
        for d in devices:
            api = d.get("host_api", d.get("hostapi", ""))
            self.device_combo.addItem(f"{d.get('name', '?')} ({api})", d.get("index"))
        i = self.device_combo.findData(current)
        self.device_combo.setCurrentIndex(max(i, 0))
        self.device_combo.blockSignals(False)

    def set_playing(self, playing: bool) -> None:
        self.play_btn.setText("⏸ pause" if playing else "▶ play")

    def set_position(self, seconds: float) -> None:
        self.position.setText(format_time(seconds))

    def loop(self) -> tuple[float, float] | None:
        if not self.loop_check.isChecked():
            return None
        a, b = self.loop_start.value(), self.loop_end.value()
        return (min(a, b), max(a, b)) if b != a else None

    def set_loop(self, start_s: float, end_s: float, *, enabled: bool | None = None) -> None:
        for box, v in ((self.loop_start, start_s), (self.loop_end, end_s)):
            box.blockSignals(True)
            box.setValue(v)
            box.blockSignals(False)
        if enabled is not None:
            self.loop_check.blockSignals(True)
            self.loop_check.setChecked(enabled)
            self.loop_check.blockSignals(False)
        self._loop_edited()

    def _loop_edited(self, *_args) -> None:
        self.loop_changed.emit(self.loop())
