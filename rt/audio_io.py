"""Reading and writing audio files (soundfile), atomically, with shapes (channels, samples)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

from atomsynth.rt.atomic import atomic_path
from atomsynth.rt.errors import AtomsynthError, ParameterError

AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".opus", ".aif", ".aiff", ".mp3")
"""Suffixes of the audio files :func:`read_audio` reads (libsndfile); every place that looks
for audio files (corpora, rooms, the app's open dialog) uses this one list."""


def is_audio_path(path: str | os.PathLike) -> bool:
    """True if ``path`` has one of :data:`AUDIO_SUFFIXES` (any case)."""
    return Path(path).suffix.lower() in AUDIO_SUFFIXES


def default_subtype(path: str | os.PathLike) -> str:
    """FLOAT for WAV (no clipping, exact stems), PCM_24 for FLAC and others."""
    return "FLOAT" if Path(path).suffix.lower() in (".wav", ".wave") else "PCM_24"


_FORMATS = {".wav": "WAV", ".wave": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".aiff": "AIFF",
            ".aif": "AIFF"}


def audio_format(path: str | os.PathLike) -> str:
    """The soundfile format written for ``path``'s suffix (``WAV``, ``FLAC``, ...)."""
    fmt = _FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ParameterError(f"{path}: unknown audio format {Path(path).suffix!r}; use .wav or "
                             ".flac")
    return fmt


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int,
                *, subtype: str | None = None) -> None:
    """Write ``audio`` (shape (channels, samples)) atomically: temp file, fsync, rename."""
    path = Path(path)
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise ParameterError(f"audio must have shape (channels, samples), got {audio.shape}")
    fmt = audio_format(path)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), audio.T, int(sample_rate), subtype=subtype or default_subtype(path),
                 format=fmt)


@contextmanager
def audio_writer(path: str | os.PathLike, sample_rate: int, channels: int,
                 *, subtype: str | None = None) -> Iterator[Callable[[np.ndarray], None]]:
    """Write audio block by block, atomically: yields ``write(block)`` taking blocks of shape
    (channels, n); the file appears only when the ``with`` block ends without an error."""
    path = Path(path)
    fmt = audio_format(path)
    with atomic_path(path) as tmp, sf.SoundFile(
            str(tmp), "w", int(sample_rate), int(channels),
            subtype=subtype or default_subtype(path), format=fmt) as f:
        yield lambda block: f.write(np.ascontiguousarray(block.T))


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file: ``(audio (channels, samples) float64, sample_rate)``."""
    try:
        data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise AtomsynthError(f"{path}: cannot read audio ({exc})") from None
    return np.ascontiguousarray(data.T), int(sr)
