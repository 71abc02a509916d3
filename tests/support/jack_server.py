"""Throw-away JACK server (dummy backend) for real-time playback tests.

No sound card is needed: ``jackd -d dummy`` runs the JACK graph paced by the
wall clock, with fake ``system:capture_N`` / ``system:playback_N`` ports.

Typical use (pytest)::

    from tests.support.jack_server import start_jack_dummy, find_jack_device

    with start_jack_dummy(sample_rate=48000, period=256) as server:
        dev = find_jack_device()            # PortAudio device index
        result = play_and_capture(server, signal, samplerate=48000)

What ``start_jack_dummy`` takes care of:

* a unique server name (``jackd -n NAME``) so parallel test runs and any other
  JACK server on the machine do not collide; ``JACK_DEFAULT_SERVER`` is set to
  that name for the duration (PortAudio's JACK host API and the ``jack_*``
  command-line tools read it), and ``JACK_NO_START_SERVER=1`` so libjack never
  auto-spawns a server with default settings;
* waiting until the server really accepts clients (polls ``jack_lsp``);
* re-scanning PortAudio: PortAudio enumerates host APIs in ``Pa_Initialize``
  (run by ``import sounddevice``), so a server started later is invisible
  until PortAudio is terminated and initialised again (``rescan_portaudio``);
* on exit: terminating PortAudio *before* killing jackd (otherwise PortAudio
  19.6's JACK host API aborts the whole process in ``Pa_Terminate`` with
  ``pa_jack.c:820: Terminate: Assertion `err == 0' failed``), then stopping
  jackd (SIGTERM, then SIGKILL) and re-initialising PortAudio.

Close every sounddevice stream before leaving the ``with`` block: the PortAudio
re-initialisation invalidates streams that are still open.

Needs the Debian packages ``jackd2`` (jackd, jack_lsp, jack_connect,
jack_disconnect) and ``libportaudio2`` (built with JACK support; the
``sounddevice`` wheel on Linux has no PortAudio of its own and loads this one
via ``ctypes.util.find_library('portaudio')``).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

JACK_HOSTAPI_NAME = "JACK Audio Connection Kit"
REQUIRED_TOOLS = ("jackd", "jack_lsp", "jack_connect", "jack_disconnect")

_counter = itertools.count()

_PR_SET_PDEATHSIG = 1
try:  # looked up here, not in the forked child
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _prctl = None


class JackError(RuntimeError):
    pass


def jack_missing_reason() -> str | None:
    """Return why a dummy JACK server cannot be used here, or None if it can.

    Handy for ``pytest.mark.skipif``/``pytest.skip``.
    """
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (apt-get install jackd2)"
    return None


def _tool_env(name: str) -> dict[str, str]:
    env = dict(os.environ)
    env["JACK_DEFAULT_SERVER"] = name
    env["JACK_NO_START_SERVER"] = "1"
    return env


@dataclass
class JackServer:
    """A running ``jackd -d dummy`` process (returned by ``start_jack_dummy``)."""

    name: str
    sample_rate: int
    period: int
    process: subprocess.Popen
    log_path: str
    _stopped: bool = field(default=False, repr=False)

    # -- command-line helpers -------------------------------------------
    def run_tool(self, *args: str, check: bool = True, timeout: float = 10.0):
        """Run a jack_* tool against this server (``-s NAME`` is added)."""
        cmd = [args[0], "-s", self.name, *args[1:]]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=_tool_env(self.name), timeout=timeout
        )
        if check and proc.returncode != 0:
            raise JackError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def ports(self) -> list[str]:
        """All port names, e.g. ``['system:capture_1', ..., 'PortAudio:out_0']``."""
        out = self.run_tool("jack_lsp").stdout
        return [line.strip() for line in out.splitlines() if line.strip()]

    def new_ports(self, before: set[str] | list[str]) -> list[str]:
        """Ports that appeared since the ``before`` snapshot of ``ports()``.

        Use it to find the ports of a stream you just opened, e.g.
        ``PortAudio:out_0``, ``PortAudio:out_1`` (PortAudio numbers ports
        per process, so a second stream gets ``out_2``...).
        """
        return sorted(set(self.ports()) - set(before), key=_port_sort_key)

    def connections(self) -> dict[str, list[str]]:
        """Map every port to the ports it is connected to (``jack_lsp -c``)."""
        out = self.run_tool("jack_lsp", "-c").stdout
        result: dict[str, list[str]] = {}
        current = None
        for line in out.splitlines():
            if not line.strip():
                continue
            if line[0].isspace():
                if current is not None:
                    result[current].append(line.strip())
            else:
                current = line.strip()
                result[current] = []
        return result

    def connect(self, source: str, destination: str) -> None:
        """Connect an output port to an input port (``jack_connect``)."""
        self.run_tool("jack_connect", source, destination)

    def disconnect(self, source: str, destination: str) -> None:
        self.run_tool("jack_disconnect", source, destination)

    def disconnect_all(self, port: str) -> None:
        """Remove every connection of ``port``."""
        for other in self.connections().get(port, []):
            # jack_disconnect wants (output, input); try both orders.
            if self.run_tool("jack_disconnect", port, other, check=False).returncode:
                self.run_tool("jack_disconnect", other, port)

    # -- lifetime ----------------------------------------------------------
    def is_running(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


# ---------------------------------------------------------------------------
# PortAudio / sounddevice
# ---------------------------------------------------------------------------
def rescan_portaudio() -> None:
    """Terminate and re-initialise PortAudio so it re-enumerates host APIs.

    ``Pa_Initialize`` is reference counted and sounddevice counts its own calls
    in ``sounddevice._initialized``; all levels are undone, then restored.
    Streams still open become invalid.
    """
    import sounddevice as sd

    levels = sd._initialized
    for _ in range(levels):
        sd._terminate()
    for _ in range(max(levels, 1)):
        sd._initialize()


def _terminate_portaudio() -> int:
    import sounddevice as sd

    levels = sd._initialized
    for _ in range(levels):
        sd._terminate()
    return levels


def _initialize_portaudio(levels: int) -> None:
    import sounddevice as sd

    for _ in range(max(levels, 1)):
        sd._initialize()


def portaudio_info() -> dict:
    """Which PortAudio sounddevice loaded and which host APIs it offers."""
    import sounddevice as sd

    return {
        "library": sd._libname,
        "version": sd.get_portaudio_version(),
        "hostapis": [api["name"] for api in sd.query_hostapis()],
    }


def find_jack_device(kind: str | None = None) -> int:
    """Index of the first PortAudio device of the JACK host API.

    ``kind`` may be ``'input'`` or ``'output'`` to require channels of that
    direction. Raises JackError with diagnostics if there is none.
    """
    import sounddevice as sd

    for index, dev in enumerate(sd.query_devices()):
        if sd.query_hostapis(dev["hostapi"])["name"] != JACK_HOSTAPI_NAME:
            continue
        if kind == "input" and dev["max_input_channels"] < 1:
            continue
        if kind == "output" and dev["max_output_channels"] < 1:
            continue
        return index
    raise JackError(
        "PortAudio has no JACK device. Is a JACK server running, was PortAudio "
        f"re-initialised after it started (rescan_portaudio), and is the loaded "
        f"library JACK-enabled? {portaudio_info()}"
    )


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def start_jack_dummy(
    sample_rate: int = 48000,
    period: int = 256,
    name: str | None = None,
    *,
    realtime: bool = False,
    capture_ports: int = 2,
    playback_ports: int = 2,
    timeout: float = 10.0,
    rescan: bool = True,
    extra_args: tuple[str, ...] = (),
) -> Iterator[JackServer]:
    """Run ``jackd -n NAME -d dummy -r RATE -p PERIOD`` for the ``with`` block.

    realtime: False passes ``--no-realtime`` (works in any container; the dummy
        driver is still paced by the wall clock). True asks for SCHED_FIFO,
        which works as root here but fails without CAP_SYS_NICE/rtprio limits.
    rescan: re-initialise PortAudio (if sounddevice is importable) after the
        server is up and before it goes down, so PortAudio sees JACK.
    """
    reason = jack_missing_reason()
    if reason:
        raise JackError(reason)
    if name is None:
        name = f"atomsynth-{os.getpid()}-{next(_counter)}"

    log_fd, log_path = tempfile.mkstemp(prefix=f"jackd-{name}-", suffix=".log")
    cmd = ["jackd", "--name", name, "--no-realtime" if not realtime else "--realtime"]
    cmd += list(extra_args)
    cmd += [
        "-d", "dummy",
        "--rate", str(sample_rate),
        "--period", str(period),
        "--capture", str(capture_ports),
        "--playback", str(playback_ports),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
        env=_tool_env(name),
        preexec_fn=_child_setup,
    )
    os.close(log_fd)
    server = JackServer(name, sample_rate, period, proc, log_path)

    saved_env = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    pa_levels = None
    try:
        _wait_ready(server, timeout)
        os.environ["JACK_DEFAULT_SERVER"] = name
        os.environ["JACK_NO_START_SERVER"] = "1"
        if rescan and _sounddevice_importable():
            pa_levels = _terminate_portaudio()
            _initialize_portaudio(pa_levels)
        yield server
    finally:
        if pa_levels is not None:
            # PortAudio's JACK client must close while the server still runs.
            pa_levels = _terminate_portaudio()
        server.stop()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if pa_levels is not None:
            _initialize_portaudio(pa_levels)
        with contextlib.suppress(OSError):
            os.unlink(log_path)


def _child_setup() -> None:
    # Own session: a Ctrl-C in the terminal must not kill jackd before
    # PortAudio has closed its JACK client. Parent-death signal: jackd goes
    # away even if the test process is SIGKILLed (note: it fires when the
    # *thread* that started jackd exits; start servers from the main thread).
    # Runs between fork and exec: no imports or allocations beyond this.
    os.setsid()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def _sounddevice_importable() -> bool:
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def _wait_ready(server: JackServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    want = "system:playback_1"
    while True:
        if not server.is_running():
            raise JackError(
                f"jackd exited with {server.process.returncode} before becoming ready:\n"
                + server.log()
            )
        proc = server.run_tool("jack_lsp", check=False)
        if proc.returncode == 0 and want in proc.stdout:
            return
        if time.monotonic() > deadline:
            server.stop()
            raise JackError(f"jackd not ready after {timeout}s:\n" + server.log())
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# Play through JACK and record the result (loopback)
# ---------------------------------------------------------------------------
@dataclass
class PlayResult:
    played: np.ndarray  # (frames, channels) float32, exactly what the callback wrote
    captured: np.ndarray  # (frames, channels) float32, raw loopback recording
    lag: int  # captured[lag:lag+len(played)] lines up with played
    output_underflows: int  # callbacks whose status had output_underflow
    underflow_frames: list[int]  # output frame position of each flagged callback
    input_overflows: int
    callbacks: int
    blocksizes: list[int]

    @property
    def aligned(self) -> np.ndarray:
        """Captured samples lined up with ``played`` (zero-padded if short)."""
        out = np.zeros_like(self.played)
        seg = self.captured[self.lag : self.lag + len(self.played)]
        out[: len(seg)] = seg
        return out


def record_server_output(server: JackServer, client, ports: list[str], *, sample_rate: int,
                         seconds: float, block: int = 256):
    """Start a recorder in the audio server's own JACK client
    (:meth:`~atomsynth.rt.server.client.ServerClient.start_capture`, in lockstep with its
    playback) and connect the output ``ports`` to its inputs, one to one, in place of whatever
    JACK connected them to. Returns the recorder: close it, then read ``.data``."""
    before = set(server.ports())
    rec = client.start_capture(device=find_jack_device("input"), sample_rate=sample_rate,
                               channels=len(ports), seconds=seconds, block=block)
    try:
        rec_ports = [p for p in server.new_ports(before) if ":in_" in p]
        assert len(rec_ports) == len(ports), rec_ports
        for port in rec_ports:
            server.disconnect_all(port)
        for src, dst in zip(ports, rec_ports, strict=True):
            server.connect(src, dst)
    except BaseException:
        rec.close()
        raise
    return rec


def play_to_end_and_record(server: JackServer, eng, ports: list[str], *, sample_rate: int,
                           seconds: float) -> np.ndarray:
    """Record ``eng``'s two JACK output ``ports`` (:func:`record_server_output`) while it plays
    its set to the end (at most ``seconds`` + 10 s); the capture, ``(samples, channels)``."""
    assert len(ports) == 2, ports
    rec = record_server_output(server, eng.client, ports, sample_rate=sample_rate,
                               seconds=seconds + 10.0)
    try:
        t0 = time.monotonic()
        eng.play()
        while eng.playing and time.monotonic() - t0 < seconds + 10:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        rec.close()
    assert rec.hdr[3] == 0  # the recorder never ran out of room
    return rec.data


def find_lag(captured: np.ndarray, reference: np.ndarray, search: int = 4) -> int:
    """Offset of ``reference`` inside ``captured`` (first channel).

    Coarse estimate from FFT cross-correlation, refined by the smallest max
    error within +-``search`` samples.
    """
    c = np.asarray(captured, dtype=np.float64).reshape(len(captured), -1)[:, 0]
    r = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)[:, 0]
    if not np.any(r) or not np.any(c):
        return 0
    n = 1 << int(np.ceil(np.log2(len(c) + len(r))))
    xc = np.fft.irfft(np.fft.rfft(c, n) * np.conj(np.fft.rfft(r, n)), n)[: len(c)]
    coarse = int(np.argmax(xc))
    best, best_err = coarse, np.inf
    for lag in range(max(coarse - search, 0), min(coarse + search, len(c) - 1) + 1):
        seg = c[lag : lag + len(r)]
        err = np.max(np.abs(seg - r[: len(seg)])) if len(seg) else np.inf
        if err < best_err:
            best, best_err = lag, err
    return best


class JackRecorder:
    """Record JACK output ports through a sounddevice.InputStream.

    ::

        before = set(server.ports())
        stream = sd.OutputStream(device=find_jack_device(), ...)   # code under test
        out_ports = server.new_ports(before)     # e.g. PortAudio:out_0, out_1
        with JackRecorder(server, out_ports) as rec:
            stream.start(); time.sleep(1); stream.stop()
        rec.data                                  # (frames, channels) float32

    The InputStream's ports (``PortAudio:in_N``) are cut from the
    ``system:capture_*`` ports PortAudio auto-connects them to (the dummy
    backend's capture ports deliver silence anyway) and fed from ``sources``
    with jack_connect; ``connect()`` can add sources later. Recording starts
    when the ``with`` block is entered and stops when it is left.

    jack_connect is one process per port, so when the sources are already
    running their channels join the recording a few ms apart. For
    sample-aligned multichannel captures connect before the source stream is
    started (``play_and_capture`` does that).
    """

    def __init__(self, server: JackServer, sources: list[str], *, channels: int | None = None,
                 samplerate: int | None = None, device: int | None = None,
                 blocksize: int = 0):  # fmt: skip
        self.server = server
        self.sources = list(sources)
        self.channels = channels or max(len(self.sources), 1)
        self.samplerate = samplerate or server.sample_rate
        self.device = device
        self.blocksize = blocksize
        self.ports: list[str] = []
        self.input_overflows = 0
        self._blocks: list[np.ndarray] = []
        self._stream = None

    def _callback(self, indata, frames, time_info, status):
        if status.input_overflow:
            self.input_overflows += 1
        self._blocks.append(indata.copy())

    def __enter__(self) -> JackRecorder:
        import sounddevice as sd

        device = find_jack_device("input") if self.device is None else self.device
        before = set(self.server.ports())
        self._stream = sd.InputStream(
            device=device, channels=self.channels, samplerate=self.samplerate,
            dtype="float32", blocksize=self.blocksize, callback=self._callback,
        )  # fmt: skip
        try:
            self.ports = self.server.new_ports(before)
            if len(self.ports) != self.channels:
                raise JackError(f"unexpected PortAudio input ports: {self.ports}")
            self._stream.start()  # PortAudio connects system:capture_N -> in_N here
            for port in self.ports:
                self.server.disconnect_all(port)
            if self.sources:
                self.connect(self.sources)
        except BaseException:
            self._stream.close()
            raise
        return self

    def connect(self, sources: list[str]) -> None:
        """Feed ``sources[i]`` into input channel i."""
        for src, dst in zip(sources, self.ports, strict=False):
            self.server.connect(src, dst)

    def __exit__(self, *exc) -> None:
        try:
            self._stream.stop()
        finally:
            self._stream.close()

    @property
    def data(self) -> np.ndarray:
        if not self._blocks:
            return np.zeros((0, self.channels), np.float32)
        return np.concatenate(self._blocks)


def play_and_capture(
    server: JackServer,
    signal_or_callback,
    *,
    samplerate: int | None = None,
    channels: int = 2,
    frames: int | None = None,
    blocksize: int = 0,
    tail: float = 0.3,
    device: int | None = None,
) -> PlayResult:
    """Play through a sounddevice.OutputStream on JACK and record it back.

    ``signal_or_callback`` is either an array (frames, channels) / (frames,)
    played from the start, or ``fill(outdata, start_frame)`` that writes one
    block (then give ``frames``). An InputStream on the same JACK device
    records; its ports are disconnected from ``system:capture_*`` and fed
    from the output stream's ports with ``jack_connect``, before the output
    starts, so nothing is lost. Returns a PlayResult; compare
    ``result.aligned`` with ``result.played``.
    """
    import sounddevice as sd

    samplerate = samplerate or server.sample_rate
    if device is None:
        device = find_jack_device()

    if callable(signal_or_callback):
        fill = signal_or_callback
        if frames is None:
            raise ValueError("frames is needed with a callback")
    else:
        sig = np.asarray(signal_or_callback, dtype=np.float32)
        if sig.ndim == 1:
            sig = np.repeat(sig[:, None], channels, axis=1)
        channels = sig.shape[1]
        frames = len(sig)

        def fill(out, start):
            chunk = sig[start : start + len(out)]
            out[: len(chunk)] = chunk
            out[len(chunk) :] = 0

    played = np.zeros((frames, channels), dtype=np.float32)
    state = {"pos": 0, "under": 0, "calls": 0}
    underflow_frames: list[int] = []
    blocks: list[int] = []
    done = threading.Event()

    def out_cb(outdata, nframes, time_info, status):
        state["calls"] += 1
        if status.output_underflow:
            state["under"] += 1
            underflow_frames.append(state["pos"])
        if len(blocks) < 64:
            blocks.append(nframes)
        pos = state["pos"]
        if pos >= frames:
            outdata.fill(0)
            done.set()
            return
        fill(outdata, pos)
        n = min(nframes, frames - pos)
        played[pos : pos + n] = outdata[:n]
        if n < nframes:
            outdata[n:] = 0
        state["pos"] = pos + nframes

    with JackRecorder(server, [], channels=channels, samplerate=samplerate,
                      device=device, blocksize=blocksize) as rec:  # fmt: skip
        before = set(server.ports())
        ostream = sd.OutputStream(
            device=device, channels=channels, samplerate=samplerate, dtype="float32",
            blocksize=blocksize, callback=out_cb,
        )  # fmt: skip
        try:
            out_ports = server.new_ports(before)
            if len(out_ports) != channels:
                raise JackError(f"unexpected PortAudio output ports: {out_ports}")
            rec.connect(out_ports)  # before start(): nothing is lost
            ostream.start()
            seconds = frames / samplerate
            if not done.wait(seconds + 5.0):
                raise JackError("output callback stalled")
            time.sleep(tail)
            ostream.stop()
        finally:
            ostream.close()

    cap = rec.data
    return PlayResult(
        played=played,
        captured=cap,
        lag=find_lag(cap, played),
        output_underflows=state["under"],
        underflow_frames=underflow_frames,
        input_overflows=rec.input_overflows,
        callbacks=state["calls"],
        blocksizes=blocks,
    )


def _port_sort_key(port: str):
    client, _, short = port.rpartition(":")
    digits = "".join(ch for ch in short if ch.isdigit())
    return (client, short.rstrip("0123456789"), int(digits) if digits else -1)


# ---------------------------------------------------------------------------
# Demo: python -m tests.support.jack_server [seconds]
# ---------------------------------------------------------------------------
def _demo(seconds: float = 5.0) -> int:
    import sounddevice as sd

    print("before:", portaudio_info())
    sr = 48000
    t = np.arange(int(seconds * sr)) / sr
    sine = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    stereo = np.stack([sine, -0.25 * sine], axis=1)
    with start_jack_dummy(sample_rate=sr, period=256) as server:
        print("server:", server.name, "info:", portaudio_info())
        dev = find_jack_device()
        print("device:", dev, sd.query_devices(dev)["name"])
        t0 = time.monotonic()
        res = play_and_capture(server, stereo, samplerate=sr)
        wall = time.monotonic() - t0
    err = float(np.max(np.abs(res.aligned - res.played)))
    print(
        f"played {len(res.played)} frames in {wall:.2f}s wall, "
        f"blocksizes {sorted(set(res.blocksizes))}, "
        f"callbacks {res.callbacks}, output_underflows {res.output_underflows}, "
        f"input_overflows {res.input_overflows}, lag {res.lag}, max|captured-played| {err:g}"
    )
    print("after:", portaudio_info())
    return 0 if err == 0.0 else 1


if __name__ == "__main__":
    sys.exit(_demo(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
