"""Background jobs (renders, fits) in a QThread with progress and cancel.

A job is a function ``fn(progress)`` where ``progress(fraction)`` reports the fraction done and
raises :class:`Cancelled` once the user has cancelled, which ends the job at its next report.
Errors become the ``failed`` signal's readable message; nothing propagates into Qt.
"""

from __future__ import annotations

import importlib
import importlib.util
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


def fit_recording(audio, *, sample_rate: int, progress: Callable, **options) -> object:
    """Resonant atoms fitted to a recording (:func:`atomsynth.offline.fit.fit_audio`);
    ``options`` are :class:`~atomsynth.offline.fit.FitConfig` fields (sample_rate,
    atoms_per_second, iterations). PyTorch is imported here, in the worker thread."""
    from atomsynth.offline.fit import FitConfig, fit_audio

    atom_set, _report = fit_audio(audio, sample_rate, FitConfig(**options), progress=progress)
    return atom_set


def atomize_recording(audio, *, sample_rate: int, progress: Callable) -> object:
    """MDCT atoms of a recording within 60 dB of the loudest (one MDCT, frames of 2048)."""
    from atomsynth.offline.atomizer import atomize

    progress(0.0)
    return atomize(audio, sample_rate, scale=2048, threshold_db=60.0)


# How audio files become atoms: kind -> (function, what it does, modules it needs).
ANALYZERS: dict[str, tuple[Callable, str, tuple[str, ...]]] = {
    "fit": (fit_recording, "fit resonant atoms", ("torch", "atomsynth.offline.fit")),
    "atomize": (atomize_recording, "atomize into MDCT atoms",
                ("atomsynth.offline.atomizer",)),
}


def missing_module(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def find_analyzer(kind: str | None = None):
    """``(function, description)`` for ``kind`` ("fit" or "atomize"; default: fitting, or the
    atomizer where PyTorch is not installed), or ``(None, message)``.

    Only looks the modules up (``importlib.util.find_spec``); nothing is imported here, so
    the GUI thread does not freeze for PyTorch's import: the job imports it."""
    kinds = [kind] if kind is not None else ["fit", "atomize"]
    problems = []
    for k in kinds:
        if k not in ANALYZERS:
            return None, f"unknown analysis {k!r}; choose fit or atomize"
        fn, what, modules = ANALYZERS[k]
        missing = [m for m in modules if missing_module(m)]
        if missing:
            problems.append(f"{what} needs {', '.join(missing)} (not installed)")
            continue
        return fn, what
    return None, "cannot turn audio into atoms here: " + "; ".join(problems)
