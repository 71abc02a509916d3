"""Band-limited resampling with libsoxr (``soxr``, very high quality).

The signal is treated as a finite sequence with silence around it, so the end of a recording
never leaks into its start (an FFT resampler treats the signal as periodic, which does).
"""

from __future__ import annotations

import numpy as np
import soxr


def resample(x: np.ndarray, sr_in: int, sr_out: int, *, length: int | None = None) -> np.ndarray:
    """Resample ``x`` (shape (..., T)) from ``sr_in`` to ``sr_out`` Hz along the last axis.

    libsoxr's very-high-quality low-pass (pass band to about 91 % of the lower Nyquist
    frequency, stop band attenuation about 175 dB, linear phase with its delay removed); the
    result is float64 with ``length`` samples (default ``round(T * sr_out / sr_in)``),
    zero-padded or cut.
    """
    x = np.asarray(x, dtype=np.float64)
    n_in = x.shape[-1]
    if length is None:
        length = int(round(n_in * sr_out / sr_in))
    out = np.zeros(x.shape[:-1] + (length,))
    if sr_in == sr_out:
        n = min(length, n_in)
        out[..., :n] = x[..., :n]
        return out
    if n_in == 0 or length == 0:
        return out
    columns = np.ascontiguousarray(x.reshape(-1, n_in).T)  # (T, signals)
    y = soxr.resample(columns, float(sr_in), float(sr_out), quality="VHQ").T
    n = min(length, y.shape[-1])
    out[..., :n] = y[:, :n].reshape(x.shape[:-1] + (n,))
    return out


STREAM_CHUNK = 256
"""Input samples per call of the streaming resampler (the offline path feeds the same)."""


class StreamResampler:
    """libsoxr's streaming resampler (very high quality) with a queue of its output.

    Input is fed in :data:`STREAM_CHUNK`-sample chunks; the output is kept until taken, indexed
    by output sample from 0 (libsoxr removes the filter's delay, so output sample ``j`` is the
    signal at time ``j / sr_out``). libsoxr's output does not depend on how the input is cut
    into chunks, so :func:`resample_stream` (one pass) and a renderer that feeds it block by
    block give the same samples.

    Parameters
    ----------
    sr_in, sr_out : int
        Input and output rates in Hz.
    channels : int
    """

    def __init__(self, sr_in: int, sr_out: int, channels: int) -> None:
        self.sr_in, self.sr_out, self.channels = int(sr_in), int(sr_out), int(channels)
        self._stream = soxr.ResampleStream(float(sr_in), float(sr_out), self.channels,
                                           dtype="float64", quality="VHQ")
        cap = 8192 + 4 * int(np.ceil(STREAM_CHUNK * sr_out / sr_in))
        self._queue = np.zeros((self.channels, cap))
        self.lo = 0  # output index of _queue[:, 0]
        self.hi = 0  # output samples produced so far

    @property
    def delay(self) -> float:
        """libsoxr's look-ahead in output samples (input held back for the filter)."""
        return float(self._stream.delay())

    def push(self, chunk: np.ndarray) -> None:
        """Feed ``chunk`` (shape (channels, n)) and queue what comes out."""
        y = self._stream.resample_chunk(np.ascontiguousarray(chunk.T))
        n = y.shape[0]
        if not n:
            return
        q = self._queue
        used = self.hi - self.lo
        if used + n > q.shape[1]:
            grown = np.zeros((self.channels, max(2 * q.shape[1], used + n)))
            grown[:, :used] = q[:, :used]
            self._queue = q = grown
        q[:, used : used + n] = y.T
        self.hi += n

    def take(self, start: int, count: int, dst: np.ndarray, offset: int) -> None:
        """Copy output samples [start, start + count) into ``dst[:, offset:]`` and drop every
        queued sample before ``start + count`` (``start >= lo``, ``start + count <= hi``)."""
        q, a = self._queue, start - self.lo
        dst[:, offset : offset + count] = q[:, a : a + count]
        used = self.hi - self.lo
        keep = used - (a + count)
        if keep:
            q[:, :keep] = q[:, a + count : used]
        self.lo = start + count

    def fade_queue(self, start: int, length: int) -> None:
        """Fade the queued output from ``start`` linearly to zero over ``length`` samples;
        silence after that."""
        q = self._queue
        a = max(0, start - self.lo)
        used = self.hi - self.lo
        n = min(length, max(0, used - a))
        if n:
            q[:, a : a + n] *= np.linspace(1.0, 0.0, length + 1)[1 : n + 1]
        q[:, a + n : used] = 0.0

    def reset(self) -> None:
        """Forget the input not yet output (the next input starts at output index ``hi``)."""
        self._stream.clear()


def resample_stream(x: np.ndarray, sr_in: int, sr_out: int, length: int) -> np.ndarray:
    """Resample ``x`` (shape (channels, T)) with :class:`StreamResampler`: the samples a
    streaming renderer gets by feeding the same signal (followed by silence) block by block.

    Returns float64 of shape (channels, length).
    """
    x = np.asarray(x, dtype=np.float64)
    channels = x.shape[0]
    out = np.zeros((channels, length))
    if sr_in == sr_out:
        n = min(length, x.shape[1])
        out[:, :n] = x[:, :n]
        return out
    rs = StreamResampler(sr_in, sr_out, channels)
    chunk = np.zeros((channels, STREAM_CHUNK))
    pos = 0
    while rs.hi < length:
        chunk[:] = 0.0
        part = x[:, pos : pos + STREAM_CHUNK]
        chunk[:, : part.shape[1]] = part
        rs.push(chunk)
        pos += STREAM_CHUNK
        if rs.hi > rs.lo:
            n = min(rs.hi, length) - rs.lo
            rs.take(rs.lo, n, out, rs.lo)
    return out
