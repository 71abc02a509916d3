"""Heavy work started from the app, in a worker process (``multiprocessing``, 'spawn' context).

The app (:class:`atomsynth.gui.jobs.ProcessJob`) starts :func:`run_task` in a fresh Python
process (never forked from the Qt process), at lower priority (``os.nice(10)``). The task
reports progress and its outcome as plain tuples on a ``multiprocessing`` pipe (only tuples
of strings and numbers cross it); results come
back as files (an ``.atoms`` written atomically), never as pickled objects:

* ``("progress", fraction)``: fraction done in [0, 1];
* ``("done", {name: path or number})``: the files written;
* ``("failed", message)``: a readable error.

This module imports neither Qt nor PyTorch (the fit imports PyTorch in the worker).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atomsynth.rt.errors import AtomsynthError, ParameterError

NICE = 10
"""How much lower than the app a worker runs (``os.nice``)."""


def fit_recording(audio, audio_rate: int, /, *, progress: Callable, **options) -> object:
    """Resonant atoms fitted to a recording at ``audio_rate`` Hz
    (:func:`atomsynth.offline.fit.fit_audio`); ``options`` are
    :class:`~atomsynth.offline.fit.FitConfig` fields (sample_rate: the rate the fit runs at,
    atoms_per_second, iterations). PyTorch is imported here, in the worker."""
    from atomsynth.offline.fit import FitConfig, fit_audio

    atom_set, _report = fit_audio(audio, audio_rate, FitConfig(**options), progress=progress)
    return atom_set


def atomize_recording(audio, audio_rate: int, /, *, progress: Callable) -> object:
    """MDCT atoms of a recording within 60 dB of the loudest (one MDCT, frames of 2048)."""
    from atomsynth.offline.atomizer import atomize

    progress(0.0)
    return atomize(audio, audio_rate, scale=2048, threshold_db=60.0)


# How audio files become atoms: kind -> (function, what it does, modules it needs).
ANALYZERS: dict[str, tuple[Callable, str, tuple[str, ...]]] = {
    "fit": (fit_recording, "fit resonant atoms", ("torch", "atomsynth.offline.fit")),
    "atomize": (atomize_recording, "atomize into MDCT atoms",
                ("atomsynth.offline.atomizer",)),
}


def analyze_task(*, audio_path: str, kind: str, options: dict[str, Any], out_path: str,
                 progress: Callable) -> dict[str, Any]:
    """Fit or atomize ``audio_path``; the atoms go to ``out_path`` (written atomically)."""
    from atomsynth.rt.atomfile import save
    from atomsynth.rt.audio_io import read_audio

    if kind not in ANALYZERS:
        raise ParameterError(f"unknown analysis {kind!r}; choose one of {list(ANALYZERS)}")
    audio, sr = read_audio(audio_path)
    atom_set = ANALYZERS[kind][0](audio, sr, progress=progress, **dict(options))
    save(atom_set, out_path)
    return {"atoms": str(out_path)}


TASKS: dict[str, Callable[..., dict[str, Any]]] = {"analyze": analyze_task}


def run_task(task: str, args: dict[str, Any], conn) -> None:
    """The worker process's entry point: run ``TASKS[task](**args)`` at lower priority and
    report progress and the outcome on ``conn`` (the writing end of a pipe; see the module)."""
    try:
        os.nice(NICE)
    except OSError:
        pass

    def progress(fraction: float, *_ignored: Any) -> None:
        conn.send(("progress", float(fraction)))

    try:
        if task not in TASKS:
            raise ParameterError(f"unknown task {task!r}; known: {list(TASKS)}")
        result = TASKS[task](progress=progress, **args)
    except AtomsynthError as exc:
        conn.send(("failed", str(exc)))
    except MemoryError:
        conn.send(("failed", f"{task}: out of memory"))
    except Exception as exc:  # noqa: BLE001 - any failure becomes a message
        conn.send(("failed", f"{task} failed: "
                   + traceback.format_exception_only(type(exc), exc)[-1].strip()))
    else:
        conn.send(("done", {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in result.items()}))
    finally:
        conn.close()


__all__ = ["ANALYZERS", "NICE", "TASKS", "analyze_task", "atomize_recording", "fit_recording",
           "run_task"]
