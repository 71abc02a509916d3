"""A dependency-free progress bar for long renders and fits (writes to stderr)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[float], None]
"""``progress(fraction)``: the fraction of the work done, in [0, 1] (renders)."""

TextProgress = Callable[[float, str], None]
"""``progress(fraction, text)``: the fraction done and a line saying what is happening (fits).
A :class:`ProgressBar` is both."""


class ProgressBar:
    """``bar(fraction)`` redraws ``label [#####.....]  45%  1.2 s  extra``.

    On a terminal the line is redrawn in place; otherwise a line is printed every 10 %.
    Use as a context manager so the line is finished on exit.
    """

    def __init__(self, label: str, *, stream: TextIO | None = None, width: int = 30,
                 enabled: bool = True) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.enabled = enabled
        self.start = time.perf_counter()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_step = -1
        self._last_draw = 0.0
        self.extra = ""

    def __call__(self, fraction: float, extra: str | None = None) -> None:
        if not self.enabled:
            return
        if extra is not None:
            self.extra = extra
        fraction = min(max(float(fraction), 0.0), 1.0)
        now = time.perf_counter()
        if self._tty:
            if fraction < 1.0 and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            filled = int(round(fraction * self.width))
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction * 100:5.1f}%  "
                              f"{now - self.start:6.1f} s  {self.extra}\x1b[K")
            self.stream.flush()
        else:
            step = int(fraction * 10)
            if step > self._last_step:
                self._last_step = step
                self.stream.write(f"{self.label}: {fraction * 100:3.0f}%  "
                                  f"{now - self.start:.1f} s  {self.extra}\n")
                self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
