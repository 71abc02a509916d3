"""A dark Fusion palette for the app."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#1e2127",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#15171c",
        QPalette.ColorRole.AlternateBase: "#23262d",
        QPalette.ColorRole.ToolTipBase: "#2b2f37",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#2a2e36",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.BrightText: "#ff5e7e",
        QPalette.ColorRole.Highlight: "#4e9cff",
        QPalette.ColorRole.HighlightedText: "#0b0c0f",
        QPalette.ColorRole.Link: "#4e9cff",
        QPalette.ColorRole.PlaceholderText: "#8a8f99",
    }
    for role, col in colours.items():
        pal.setColor(role, QColor(col))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b707a"))
    app.setPalette(pal)
    app.setStyleSheet(
        "QCheckBox::indicator { width: 13px; height: 13px; border: 1px solid #8a8f99;"
        " border-radius: 2px; background: #15171c; }"
        "QCheckBox::indicator:checked { background: #4e9cff; border-color: #4e9cff; }"
        "QCheckBox::indicator:hover { border-color: #e6e6e6; }")
