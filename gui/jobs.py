"""Background jobs with progress and cancel: in a worker process, or in a QThread.

Heavy work (fits, atomizing, long renders) runs in a :class:`ProcessJob`: a task of
:mod:`atomsynth.offline.worker` in a process of the 'spawn' context (never forked from this Qt
process) at lower priority; its progress arrives on a ``multiprocessing`` pipe polled by a
QTimer; cancelling terminates the process; results come back as files.

A :class:`Job` is a function ``fn(progress)`` in a QThread (light work: the preview, functions
that cannot be named in another process), where ``progress(fraction)`` reports the fraction
done and raises :class:`Cancelled` once the user has cancelled, which ends the job at its next
report. Errors become the ``failed`` signal's readable message; nothing propagates into Qt.
"""

from __future__ import annotations

import importlib
import importlib.util
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from atomsynth.offline.worker import ANALYZERS
from atomsynth.rt.errors import AtomsynthError

CANCEL_WAIT_S = 1.0
"""How long a cancelled worker gets to end after SIGTERM before SIGKILL."""


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


class ProcessJob(QObject):
    """Runs ``task`` of :mod:`atomsynth.offline.worker` with ``args`` (plain data) in a worker
    process; the same signals as :class:`Job`, plus ``finished()`` after any outcome.

    Parameters
    ----------
    collect : callable, optional
        Turns the task's result (``{name: path or number}``) into what ``done`` carries, in
        the GUI thread (reading the files back); its errors become ``failed``.
    poll_ms : int
        How often the queue is read.
    """

    progress = Signal(float)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, task: str, args: dict, *, label: str = "",
                 collect: Callable | None = None, parent=None, poll_ms: int = 50) -> None:
        super().__init__(parent)
        self.task, self.args, self.label = task, dict(args), label
        self._collect = collect
        self.process = None
        self._queue = None
        self._cancel = False
        self._over = False
        self.dialog = None
        self.timer = QTimer(self)
        self.timer.setInterval(int(poll_ms))
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        import multiprocessing

        from atomsynth.offline.worker import run_task

        ctx = multiprocessing.get_context("spawn")
        self._queue, writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=run_task, args=(self.task, self.args, writer),
                                   name=f"atomsynth {self.task}", daemon=True)
        self.process.start()
        writer.close()  # the worker holds the only writing end: EOF when it is gone
        self.timer.start()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def is_cancelled(self) -> bool:
        return self._cancel

    def isRunning(self) -> bool:  # noqa: N802 - the same question as QThread's
        return self.process is not None and not self._over

    def cancel(self) -> None:
        """Terminate the worker (SIGTERM; SIGKILL after :data:`CANCEL_WAIT_S`) and reap it."""
        if self._over:
            return
        self._cancel = True
        proc = self.process
        if proc is not None:
            proc.terminate()
            proc.join(CANCEL_WAIT_S)
            if proc.is_alive():
                proc.kill()
                proc.join()
        self._finish(("cancelled", None))

    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the job is over (polling the queue); False on timeout (milliseconds,
        as QThread's)."""
        import time

        deadline = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000
        while not self._over:
            self.poll()
            if self._over or (deadline is not None and time.monotonic() > deadline):
                break
            time.sleep(0.02)
        return self._over

    def poll(self) -> None:
        """Read every message waiting on the queue (the timer calls it)."""
        if self._over or self._queue is None:
            return
        while True:
            try:
                if not self._queue.poll(0):
                    break
                kind, value = self._queue.recv()
            except (EOFError, OSError, ValueError):
                break
            if kind == "progress":
                self.progress.emit(float(value))
            else:
                self._finish((kind, value))
                return
        proc = self.process
        if proc is not None and not proc.is_alive() and not self._over:
            # ended without a word (killed, crashed in native code): one more look, then say so
            try:
                if not self._queue.poll(0.2):
                    raise EOFError
                kind, value = self._queue.recv()
            except (EOFError, OSError, ValueError):
                kind, value = "failed", (f"{self.label or self.task}: the worker process ended "
                                         f"unexpectedly (exit code {proc.exitcode})")
            if kind == "progress":
                kind, value = "failed", (f"{self.label or self.task}: the worker process "
                                         f"ended early (exit code {proc.exitcode})")
            self._finish((kind, value))

    def _finish(self, outcome) -> None:
        if self._over:
            return
        self._over = True
        self.timer.stop()
        kind, value = outcome
        if self.process is not None:
            self.process.join(CANCEL_WAIT_S)
        if self._queue is not None:
            self._queue.close()
        try:
            if kind == "done":
                result = value
                if self._collect is not None:
                    try:
                        result = self._collect(value)
                    except (AtomsynthError, OSError) as exc:
                        self.failed.emit(f"{self.label}: {exc}")
                        return
                self.done.emit(result)
            elif kind == "failed":
                self.failed.emit(str(value))
            else:
                self.cancelled.emit()
        finally:
            self.finished.emit()


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


__all__ = ["ANALYZERS", "CANCEL_WAIT_S", "Cancelled", "Job", "ProcessJob", "find_analyzer",
           "missing_module"]
