"""atomsynth.gui: the desktop app (PySide6 + pyqtgraph). Start it with ``atomsynth gui``."""

from atomsynth.gui._refcount_guard import install as _install_refcount_guard

_install_refcount_guard()
