"""atomsynth.gui: the PySide6 + pyqtgraph desktop app (the ``gui`` extra)."""
