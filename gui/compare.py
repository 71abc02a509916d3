"""Comparing the atoms with the recording they came from: A/B playback, the original's
spectrogram and the residual (original minus atoms).

:class:`Original` keeps the recording an audio file was analyzed from. :func:`aligned`
brings it to the atom set's rate and channel count, so that ``residual = original - atoms``
is sample-aligned. :class:`OriginalPlayer` plays the original (the "B" side) on an output
device with a PortAudio stream of its own, from a given position; the engine plays the
atoms (the "A" side) and is paused while B plays.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Original:
    """A recording: ``audio`` (channels, samples) float64 at ``sample_rate`` Hz."""

    audio: np.ndarray
    sample_rate: int
    path: Path | None = None

    @property
    def duration_s(self) -> float:
        return self.audio.shape[1] / self.sample_rate


def aligned(original: Original, sample_rate: int, channels: int, n: int | None = None
            ) -> np.ndarray:
    """The original at ``sample_rate`` with ``channels`` channels (mono is copied, more
    channels are averaged), cut or zero-padded to ``n`` samples."""
    from atomsynth.rt.resample import resample

    x = original.audio
    if original.sample_rate != sample_rate:
        x = resample(x, original.sample_rate, sample_rate)
    if x.shape[0] != channels:
        x = np.repeat(x.mean(axis=0, keepdims=True), channels, axis=0)
    if n is not None:
        out = np.zeros((channels, n))
        m = min(n, x.shape[1])
        out[:, :m] = x[:, :m]
        x = out
    return np.asarray(x, dtype=np.float64)


def residual(original: Original, atoms_audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Original minus the atoms' render (at the atoms' rate and channels, the atoms' length)."""
    ch, n = atoms_audio.shape
    return aligned(original, sample_rate, ch, n) - atoms_audio


class OriginalPlayer:
    """Plays the original from a position (see the module).

    ``output=False`` opens no device: :meth:`read` then gives what the stream would play.
    """

    def __init__(self, original: Original, *, device=None, output: bool = True) -> None:
        self.original = original
        self.device = device
        self.output = output
        self._pos = 0
        self._lock = threading.Lock()
        self._stream = None
        self.playing = False

    @property
    def position_s(self) -> float:
        return self._pos / self.original.sample_rate

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` frames, (channels, n) float32 (silence past the end)."""
        x = self.original.audio
        with self._lock:
            a = self._pos
            self._pos += n
        out = np.zeros((x.shape[0], n), np.float32)
        if a < x.shape[1]:
            m = min(n, x.shape[1] - a)
            out[:, :m] = x[:, a:a + m]
        return out

    def seek(self, seconds: float) -> None:
        with self._lock:
            self._pos = max(0, int(round(seconds * self.original.sample_rate)))

    def play(self, from_s: float) -> None:
        self.seek(from_s)
        self.playing = True
        if not self.output:
            return
        import sounddevice as sd

        def callback(outdata, frames, _time, _status):
            outdata[:] = self.read(frames).T[:, : outdata.shape[1]]

        self._stream = sd.OutputStream(samplerate=self.original.sample_rate,
                                       channels=self.original.audio.shape[0],
                                       device=self.device, callback=callback)
        self._stream.start()

    def stop(self) -> None:
        self.playing = False
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream.stop()
            stream.close()
