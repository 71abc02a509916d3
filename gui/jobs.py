"""Background jobs (renders, fits) in a QThread with progress and cancel.

A job is a function ``fn(progress)`` where ``progress(fraction)`` reports the fraction done and
raises :class:`Cancelled` once the user has cancelled, which ends the job at its next report.
Errors become the ``failed`` signal's readable message; nothing propagates into Qt.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable

from atomsynth.rt.errors import AtomsynthError
from PySide6.QtCore import QThread, Signal


class Cancelled(Exception):
    """Raised inside a job's progress callback after :meth:`Job.cancel`."""


class Job(QThread):
    """Runs ``fn(progress)`` off the GUI thread.

    Signals
    -------
    progress(float)
        Fraction done in [0, 1].
    done(object)
        The function's result.
    failed(str)
        A readable error message.
    cancelled()
        The user cancelled.
    """

    progress = Signal(float)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, fn: Callable, *, label: str = "", parent=None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.label = label
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True

    @property
    def is_cancelled(self) -> bool:
        return self._cancel

    def _report(self, fraction: float, *_args) -> None:
        if self._cancel:
            raise Cancelled
        self.progress.emit(float(fraction))

    def run(self) -> None:  # noqa: D401 - QThread entry point
        try:
            result = self._fn(self._report)
        except Cancelled:
            self.cancelled.emit()
            return
        except AtomsynthError as exc:
            self.failed.emit(str(exc))
            return
        except MemoryError:
            self.failed.emit(f"{self.label}: out of memory")
            return
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message, not a crash
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self.failed.emit(f"{self.label} failed: {tb}")
            return
        if self._cancel:
            self.cancelled.emit()
        else:
            self.done.emit(result)


# Where audio files are turned into atoms: (module, function, what it does, options). The
# first one that imports is used. Each is called as fn(audio (C, T), sample_rate=sr,
# **options) plus progress=cb when it takes one, and returns an AtomSet.
ANALYZERS: tuple[tuple[str, str, str, dict], ...] = (
    ("atomsynth.offline.fit", "fit_audio", "fit resonant atoms", {}),
    ("atomsynth.offline.atomizer", "atomize", "atomize into MDCT atoms",
     {"scale": 2048, "threshold_db": 60.0}),
)


def find_analyzer(kind: str | None = None):
    """``(function, description)`` of the first available analyzer, or ``(None, message)``.

    ``kind``: "fit" or "atomize" to ask for one of them only.
    """
    import inspect

    tried = []
    for module, name, what, options in ANALYZERS:
        if kind is not None and kind not in module:
            continue
        tried.append(f"{module}.{name}")
        try:
            fn = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        takes_progress = "progress" in inspect.signature(fn).parameters

        def run(audio, *, sample_rate, progress, fn=fn, options=options,
                takes_progress=takes_progress):
            extra = {"progress": progress} if takes_progress else {}
            progress(0.0)
            return fn(audio, sample_rate=sample_rate, **options, **extra)

        return run, what
    return None, ("turning audio into atoms needs fitting or the atomizer, which this build "
                  f"does not have yet (looked for {', '.join(tried)})")
