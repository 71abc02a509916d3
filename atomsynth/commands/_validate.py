"""One validation layer for command-line options and paths, shared by every subcommand.

* ``argparse`` ``type=`` functions (:func:`finite_float`, :func:`int_in`, :func:`subtype`) refuse
  NaN, infinities and out-of-range numbers while parsing, so the message names the option and
  the exit status is 2 (usage).
* :func:`output_file` / :func:`output_dir` check a path the command will write before any work
  is done: never a directory where a file goes (and the reverse), the folder created when
  missing, and writable. Failures raise :class:`~atomsynth.rt.errors.ParameterError` naming the
  option and the path.
* :func:`check_audio` refuses non-finite samples and reports peaks above 0 dBFS before a file is
  written.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from atomsynth.rt.errors import AtomsynthError, ParameterError

MAX_RENDER_S = 86400.0
"""The longest output any command renders (one day, the atom model's onset limit)."""

MAX_BLOCK = 8192
"""The largest block the streaming synthesizer renders at once (its ``max_block``)."""
SAMPLE_RATES = (8000, 384000)
"""Allowed output sample rates in Hz, inclusive (the atom model's range)."""


class OutputError(AtomsynthError):
    """An output path cannot be written (a directory, a read-only folder, ...)."""


def finite_float(lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False
                 ) -> Callable[[str], float]:
    """An argparse type: a finite float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(x) or x > hi or x < lo or (lo_open and x == lo):
            left = "(" if lo_open else "["
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed {left}{lo:g}, "
                                             f"{hi:g}]")
        return x

    parse.__name__ = "number"
    return parse


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``[lo, hi]``."""

    def parse(text: str) -> int:
        try:
            x = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not lo <= x <= hi:
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed [{lo}, {hi}]")
        return x

    parse.__name__ = "integer"
    return parse


sample_rate = int_in(*SAMPLE_RATES)
"""An argparse type for ``--sample-rate``."""


def subtype(text: str) -> str:
    """An argparse type for ``--subtype``: a soundfile subtype name (upper-cased)."""
    import soundfile as sf

    name = text.strip().upper()
    known = sf.available_subtypes()
    if name not in known:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a soundfile subtype; e.g. PCM_16, PCM_24, FLOAT, DOUBLE")
    return name


def check_subtype(path: str | os.PathLike, name: str | None, option: str = "--subtype") -> None:
    """Refuse a subtype the output format cannot hold (``FLOAT`` in FLAC, ...)."""
    if name is None:
        return
    import soundfile as sf

    from atomsynth.rt.audio_io import audio_format

    fmt = audio_format(path)
    if not sf.check_format(fmt, name):
        ok = ", ".join(sorted(sf.available_subtypes(fmt)))
        raise ParameterError(f"{option} {name}: the {fmt} format cannot hold it; allowed {ok}")


def _writable_dir(folder: Path, option: str, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ParameterError(f"{option} {what}: {folder} is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(f"{option} {what}: cannot create folder {folder} "
                          f"({exc.strerror or exc})") from None
    if not folder.is_dir():
        raise ParameterError(f"{option} {what}: {folder} is a file, not a folder")
    try:  # a real write, not os.access: root, read-only mounts and ACLs all answer truly
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"{option} {what}: folder {folder} is not writable "
                          f"({exc.strerror or exc})") from None


def output_file(path: str | os.PathLike, option: str = "-o") -> Path:
    """Check that a file can be written at ``path`` (its folder is created when missing)."""
    p = Path(path)
    if str(path) == "" or p.is_dir() or str(path).endswith(os.sep):
        raise ParameterError(f"{option} {path}: is a directory; give a file name")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputError(f"{option} {path}: the file exists and is not writable")
    _writable_dir(p.parent if str(p.parent) else Path("."), option, str(path))
    return p


def output_dir(path: str | os.PathLike, option: str) -> Path:
    """Check that files can be written into folder ``path`` (created when missing)."""
    p = Path(path)
    _writable_dir(p, option, str(path))
    return p


def check_audio(audio: np.ndarray, what: str) -> float:
    """Peak of ``audio``; refuses (one line) audio holding NaN or infinite samples."""
    if audio.size == 0:
        return 0.0
    if not np.isfinite(audio).all():
        bad = int(np.count_nonzero(~np.isfinite(audio)))
        raise AtomsynthError(f"{what}: {bad} sample(s) are NaN or infinite; nothing written "
                             "(check the effect parameters)")
    return float(np.abs(audio).max())
