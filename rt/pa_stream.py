"""A PortAudio output stream whose callback is a Numba ``cfunc``: it never takes the GIL.

A Python callback (sounddevice's) must acquire the GIL on every block, so any Python thread
that holds it (a GUI building widgets, a garbage collection pass) stalls the audio. Here the
callback is compiled C: it copies the next ready block of a shared float64 ring into
PortAudio's buffer, or writes silence and counts a miss. Python (the render-ahead thread)
fills the ring and publishes blocks by bumping a counter.

Shared memory layout (one float64 array ``buf``): a header of :data:`HDR` values
(``H_*`` indices), then ``depth`` blocks of ``block * channels`` interleaved samples. Each
header field is written by one side only (the callback: read index, counters, last slot;
Python: write index, flags), and x86-64 / ARM64 8-byte aligned stores are atomic.

The stream is opened through sounddevice's own PortAudio binding (``sounddevice._lib``), so
device lookup and host APIs (ALSA, JACK, PulseAudio) are the same as sounddevice's.
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, types

from atomsynth.rt.errors import AudioDeviceError

HDR = 16
(H_TOTAL, H_R, H_W, H_DEPTH, H_BLOCK, H_CH, H_PRIMED, H_RENDERING, H_MISSES, H_PA_UNDER,
 H_CALLS, H_LAST, H_FIRST_MISS, H_LAST_MISS) = range(14)
PA_OUTPUT_UNDERFLOW = 4

_SIG = types.int32(types.voidptr, types.voidptr, types.uint64, types.voidptr, types.uint64,
                   types.voidptr)


@cfunc(_SIG, nopython=True, cache=True)
def _callback(inp, outp, frames, time_info, flags, user):  # pragma: no cover - runs in C
    hdr = carray(user, (HDR,), np.float64)
    buf = carray(user, (int(hdr[H_TOTAL]),), np.float64)
    ch = int(buf[H_CH])
    n = int(frames) * ch
    out = carray(outp, (n,), np.float32)
    buf[H_CALLS] += 1.0
    if flags & PA_OUTPUT_UNDERFLOW:
        buf[H_PA_UNDER] += 1.0
    r = int(buf[H_R])
    w = int(buf[H_W])
    block = int(buf[H_BLOCK])
    if buf[H_PRIMED] != 0.0 and r < w and int(frames) == block:
        slot = r % int(buf[H_DEPTH])
        base = HDR + slot * block * ch
        for i in range(n):
            out[i] = buf[base + i]
        buf[H_LAST] = slot
        buf[H_R] = r + 1
    else:
        for i in range(n):
            out[i] = 0.0
        if buf[H_PRIMED] != 0.0 and buf[H_RENDERING] != 0.0:
            buf[H_MISSES] += 1.0
            if buf[H_FIRST_MISS] == 0.0:
                buf[H_FIRST_MISS] = buf[H_CALLS]
            buf[H_LAST_MISS] = buf[H_CALLS]
    return 0


def make_ring(depth: int, block: int, channels: int) -> np.ndarray:
    """The shared buffer: header plus ``depth`` interleaved blocks, float64."""
    total = HDR + depth * block * channels
    buf = np.zeros(total)
    buf[H_TOTAL] = total
    buf[H_DEPTH] = depth
    buf[H_BLOCK] = block
    buf[H_CH] = channels
    buf[H_LAST] = -1
    return buf


class _PaStream:
    """An open PortAudio stream whose callback is a Numba ``cfunc`` over a NumPy buffer, so
    the callback never takes the GIL."""

    _direction = "output"

    def _open_stream(self, *, device: int, channels: int, latency: float, sample_rate: int,
                     block: int, callback, user: np.ndarray) -> None:
        import sounddevice as sd

        self._sd = sd
        ffi, lib = sd._ffi, sd._lib
        params = ffi.new("PaStreamParameters*")
        params.device = int(device)
        params.channelCount = int(channels)
        params.sampleFormat = lib.paFloat32
        params.suggestedLatency = latency
        params.hostApiSpecificStreamInfo = ffi.NULL
        self._params = params
        self._cb = ffi.cast("PaStreamCallback *", callback.address)
        inp, out = (params, ffi.NULL) if self._direction == "input" else (ffi.NULL, params)
        pp = ffi.new("PaStream**")
        err = lib.Pa_OpenStream(pp, inp, out, float(sample_rate), int(block), 0, self._cb,
                                ffi.cast("void *", user.ctypes.data))
        self._check(err, "open")
        self._stream = pp[0]
        self._open = True

    def _check(self, err: int, what: str) -> None:
        if err < 0:
            text = self._sd._ffi.string(self._sd._lib.Pa_GetErrorText(err)).decode()
            raise AudioDeviceError(
                f"PortAudio cannot {what} the {self._direction} stream: {text}")

    def start(self) -> None:
        self._check(self._sd._lib.Pa_StartStream(self._stream), "start")

    def close(self, timeout_s: float = 1.0) -> bool:
        """Stop and close the stream; returns within ``timeout_s`` even when the host API
        hangs (a killed JACK server makes ``Pa_StopStream`` wait for ever): the closing then
        goes on in a daemon thread and False is returned."""
        if not self._open:
            return True
        self._open = False
        lib, stream = self._sd._lib, self._stream

        def shut() -> None:
            if lib.Pa_IsStreamActive(stream) == 1:
                lib.Pa_StopStream(stream)
            lib.Pa_CloseStream(stream)

        import threading

        t = threading.Thread(target=shut, name="atomsynth-pa-close", daemon=True)
        t.start()
        t.join(timeout_s)
        return not t.is_alive()


class CallbackStream(_PaStream):
    """An open PortAudio output stream driven by :func:`_callback` over ``buf``."""

    def __init__(self, buf: np.ndarray, *, device: int, sample_rate: int,
                 latency: str | float = "low") -> None:
        import sounddevice as sd

        self.buf = buf  # keep it alive while the stream runs
        if isinstance(latency, str):
            if latency not in ("low", "high"):
                raise AudioDeviceError(f"latency = {latency!r}: use 'low', 'high' or seconds")
            lat = sd.query_devices(device)[f"default_{latency}_output_latency"]
        else:
            lat = float(latency)
        self._open_stream(device=device, channels=int(buf[H_CH]), latency=lat,
                          sample_rate=sample_rate, block=int(buf[H_BLOCK]), callback=_callback,
                          user=buf)

    @property
    def latency(self) -> float:
        info = self._sd._lib.Pa_GetStreamInfo(self._stream)
        return float(info.outputLatency) if info != self._sd._ffi.NULL else 0.0

    @property
    def cpu_load(self) -> float:
        if not self._open:
            return 0.0
        return float(self._sd._lib.Pa_GetStreamCpuLoad(self._stream))


_SIG_IN = _SIG


@cfunc(_SIG_IN, nopython=True, cache=True)
def _capture_callback(inp, outp, frames, time_info, flags, user):  # pragma: no cover - C
    """Append ``frames`` interleaved input frames to a float32 capture buffer (header 4
    float32-encoded int64s: [total, write position, channels, overflows])."""
    hdr = carray(user, (4,), np.int64)
    total = hdr[0]
    ch = hdr[2]
    pos = hdr[1]
    n = int(frames) * ch
    data = carray(user, (4 * 2 + total,), np.float32)
    src = carray(inp, (n,), np.float32)
    if pos + n > total:
        hdr[3] += 1
        return 0
    for i in range(n):
        data[8 + pos + i] = src[i]
    hdr[1] = pos + n
    return 0


class CaptureStream(_PaStream):
    """A GIL-free PortAudio input stream recording up to ``seconds`` of audio (for tests and
    loopback measurements)."""

    _direction = "input"

    def __init__(self, *, device: int, sample_rate: int, channels: int, seconds: float,
                 block: int = 0, raw: np.ndarray | None = None) -> None:
        import sounddevice as sd

        total = int(seconds * sample_rate) * channels
        self.channels = channels
        if raw is None:
            raw = np.zeros(8 + total, np.float32)
        elif raw.dtype != np.float32 or raw.shape != (8 + total,):
            raise AudioDeviceError(f"capture buffer: need float32 of {8 + total} values, got "
                                   f"{raw.dtype} {raw.shape}")
        self.raw = raw  # may live in shared memory (a capture made by the audio server)
        self.hdr = self.raw[:8].view(np.int64)
        self.hdr[0], self.hdr[1], self.hdr[2], self.hdr[3] = total, 0, channels, 0
        self._open_stream(device=device, channels=channels,
                          latency=sd.query_devices(device)["default_low_input_latency"],
                          sample_rate=sample_rate, block=block, callback=_capture_callback,
                          user=self.raw)

    @property
    def data(self) -> np.ndarray:
        """The recorded frames so far, (frames, channels) float32 (a copy)."""
        n = int(self.hdr[1])
        return self.raw[8 : 8 + n].reshape(-1, self.channels).copy()
