"""Work around a reference-count bug of PySide6 6.12.0 / shiboken6 on CPython < 3.12.

Every call of a Qt method that returns ``void`` (``QLabel.setText``, ``QWidget.update``, ...)
drops one reference to ``None`` that it never took: the bindings assume the immortal ``None``
of CPython 3.12+. On 3.11 ``None`` starts with a few thousand references, so after a few
thousand such calls the interpreter aborts with ``Fatal Python error: none_dealloc``.

:func:`install` makes ``None`` effectively immortal on those interpreters, as 3.12 does, by
raising its reference count to 2**60 (``None`` is a static object and is never freed, so the
count has no other meaning). On 3.12 and later it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

_BIG = 1 << 60


def leaks_none() -> bool:
    """True when calling a void Qt method costs ``None`` a reference (the bug is present)."""
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        obj.setObjectName("x")
    return sys.getrefcount(None) < before


def install() -> None:
    """Make ``None`` immortal on CPython < 3.12 when the bug is present (module docstring).

    ``pyproject.toml`` excludes PySide6 6.12.0, so a normal install never needs this; it
    guards installations that already have the broken release.
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    if not leaks_none():
        return
    refcnt = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt is PyObject's first field
    if refcnt.value < _BIG // 2:
        refcnt.value = _BIG
