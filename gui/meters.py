"""Per-channel peak level meters (dBFS) with a falling peak hold."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

FLOOR_DB = -60.0


class LevelMeter(QWidget):
    """Vertical bars, one per channel, from -60 to 0 dBFS; red above -3 dBFS."""

    def __init__(self, channels: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.levels_db = [FLOOR_DB] * channels
        self.hold_db = [FLOOR_DB] * channels
        self.setMinimumWidth(10 * channels + 14)
        self.setToolTip("output peak level per channel, dBFS")

    def set_levels(self, levels_db) -> None:
        levels = [max(FLOOR_DB, float(x)) if x == x else FLOOR_DB for x in levels_db]
        if len(levels) != len(self.levels_db):
            self.hold_db = [FLOOR_DB] * len(levels)
        self.levels_db = levels
        self.hold_db = [max(lv, h - 0.5) for lv, h in zip(levels, self.hold_db, strict=True)]
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt naming
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#101216"))
        n = max(1, len(self.levels_db))
        w = (self.width() - 4) / n
        h = self.height() - 4
        for i, (lv, hold) in enumerate(zip(self.levels_db, self.hold_db, strict=True)):
            frac = (lv - FLOOR_DB) / -FLOOR_DB
            x = 2 + i * w
            colour = QColor("#ff5e7e") if lv > -3 else QColor("#3ddc97")
            p.fillRect(QRectF(x + 1, 2 + h * (1 - frac), w - 2, h * frac), colour)
            y = 2 + h * (1 - (hold - FLOOR_DB) / -FLOOR_DB)
            p.fillRect(QRectF(x + 1, y, w - 2, 2), QColor("#ffd166"))
        p.setPen(Qt.GlobalColor.gray)
        p.end()
