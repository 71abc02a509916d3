"""Keep hosted plugins from changing the caller's floating-point environment.

JUCE-based hosts and plugins (pedalboard's VST3 hosting among them) switch on flush-to-zero /
denormals-are-zero for the calling thread and do not always switch it back, which silently
changes every later computation on that thread (subnormals become 0). :func:`preserved` saves
the C floating-point environment (``fegetenv``; on x86-64 it includes MXCSR) and restores it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterator
from contextlib import contextmanager

_FENV_BYTES = 64  # >= sizeof(fenv_t) on glibc x86-64 (32), aarch64 (8) and macOS

try:
    _libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    _get, _set = _libm.fegetenv, _libm.fesetenv
    _get.argtypes = _set.argtypes = [ctypes.c_void_p]
    _get.restype = _set.restype = ctypes.c_int
except (OSError, AttributeError):  # pragma: no cover - no C math library: nothing to guard
    _get = _set = None


@contextmanager
def preserved() -> Iterator[None]:
    """Run the block and restore the thread's floating-point environment afterwards."""
    if _get is None:
        yield
        return
    env = ctypes.create_string_buffer(_FENV_BYTES)
    _get(env)
    try:
        yield
    finally:
        _set(env)
