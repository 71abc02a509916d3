"""The fit settings dialog: how an audio file becomes atoms, and about how long it takes.

Sample rate (up to the file's own), atom budget (atoms per second), quality (optimizer
steps) or the MDCT atomizer. The time estimate scales the last fit measured on this machine
(seconds per second of audio, per rate and step); before any fit it says so, and the progress
dialog shows the time left while the job runs.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
)

RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000)
QUALITY = {"draft (50 steps)": 50, "normal (150 steps)": 150, "high (400 steps)": 400}
DEFAULT_RATE = 22050


def work_units(duration_s: float, sample_rate: int, iterations: int) -> float:
    """A fit's size: seconds of audio x rate / 22,050 Hz x steps / 150."""
    return duration_s * sample_rate / DEFAULT_RATE * iterations / 150


class FitSettingsDialog(QDialog):
    """Settings for analyzing a recording of ``file_rate`` Hz and ``duration_s`` seconds."""

    def __init__(self, file_rate: int, duration_s: float, *, fit_available: bool = True,
                 settings: QSettings | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fit settings")
        self.duration_s = float(duration_s)
        self.settings = settings
        form = QFormLayout(self)
        self.method = QComboBox()
        if fit_available:
            self.method.addItem("fit resonant atoms", "fit")
        self.method.addItem("atomize into MDCT atoms (fast)", "atomize")
        form.addRow("method", self.method)
        self.rate = QComboBox()
        for r in sorted({*(r for r in RATES if r <= file_rate), int(file_rate)}):
            self.rate.addItem(f"{r} Hz" + (" (the file's)" if r == file_rate else ""), r)
        self.rate.setCurrentIndex(max(0, self.rate.findData(min(DEFAULT_RATE, file_rate))))
        form.addRow("sample rate", self.rate)
        self.budget = QDoubleSpinBox()
        self.budget.setRange(1.0, 1000.0)
        self.budget.setValue(24.0)
        self.budget.setSuffix(" atoms/s")
        form.addRow("atom budget", self.budget)
        self.quality = QComboBox()
        for text, steps in QUALITY.items():
            self.quality.addItem(text, steps)
        self.quality.setCurrentIndex(1)
        form.addRow("quality", self.quality)
        self.estimate = QLabel()
        self.estimate.setWordWrap(True)
        form.addRow("time", self.estimate)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        for w in (self.method, self.rate, self.quality):
            w.currentIndexChanged.connect(self.update_estimate)
        self.method.currentIndexChanged.connect(self._enable)
        self._enable()
        self.update_estimate()

    def _enable(self) -> None:
        fit = self.method.currentData() == "fit"
        for w in (self.rate, self.budget, self.quality):
            w.setEnabled(fit)

    @property
    def kind(self) -> str:
        return self.method.currentData()

    def options(self) -> dict:
        """FitConfig fields for :func:`atomsynth.offline.worker.fit_recording` ({} for atomize)."""
        if self.kind != "fit":
            return {}
        return {"sample_rate": int(self.rate.currentData()),
                "atoms_per_second": float(self.budget.value()),
                "iterations": int(self.quality.currentData())}

    def seconds_per_unit(self) -> float | None:
        if self.settings is None:
            return None
        v = self.settings.value("fit_seconds_per_unit", None)
        try:
            return float(v) if v is not None else None
        except (TypeError, ValueError):
            return None

    def update_estimate(self) -> None:
        if self.kind != "fit":
            self.estimate.setText("a few seconds (one MDCT)")
            return
        spu = self.seconds_per_unit()
        units = work_units(self.duration_s, int(self.rate.currentData()),
                           int(self.quality.currentData()))
        if spu is None:
            self.estimate.setText("no fit measured on this machine yet; the progress dialog "
                                  "shows the time left once it runs")
        else:
            self.estimate.setText(f"about {spu * units:.0f} s (scaled from the last fit here)")
