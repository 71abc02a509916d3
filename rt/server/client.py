"""The one client of the audio server: used by :class:`atomsynth.rt.engine.Engine`, ``atomsynth
play``, the app and ``atomsynth render --server``.

A client either starts a server (a new process: ``python -m atomsynth serve``, never a fork of
this one, which may hold Qt or torch) or attaches to one already running by name. It claims a
slot of the server's segment (:mod:`atomsynth.rt.server.protocol`), pushes fixed-size command
records on the slot's command ring and reads status, acknowledgement and error records from its
event ring. Sends never block: a full ring refuses the command (counted in ``refused``).

Thread safety: sends and reads each take a (client-side) lock, so a GUI thread and a worker
may share one client; the server never waits for either.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from atomsynth.rt.errors import AtomsynthError, AudioDeviceError
from atomsynth.rt.processes import pid_alive
from atomsynth.rt.server import protocol as Q

_names = itertools.count()

STATUS_KEYS = ("position_s", "underflows", "ring_misses", "portaudio_underflows", "callbacks",
               "first_miss_callback", "last_miss_callback", "atoms_playing", "edits_refused",
               "cpu_load", "cpu_load_peak", "callback_load_peak", "portaudio_cpu_load",
               "latency_s")


class ServerGone(AtomsynthError):
    """The audio server process has exited (crashed, was killed, or shut down)."""


def new_server_name() -> str:
    """A name no other server of this machine uses (pid and a counter)."""
    return f"{os.getpid()}-{next(_names)}-{int(time.time() * 1000) % 100000}"


def _lock_path(name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"atomsynth-{name}.lock"


class ServerClient:
    """A connection to one audio server (see the module).

    Use :meth:`spawn` to start a server of one's own, :meth:`connect` to attach to a running
    one.
    """

    def __init__(self, name: str, *, process: subprocess.Popen | None = None,
                 timeout_s: float = 30.0) -> None:
        self.name = name
        self.process = process
        deadline = time.monotonic() + timeout_s
        shm = None
        while shm is None:
            try:
                shm = Q.attach_shared(Q.segment_name(name))
            except (FileNotFoundError, ValueError):  # ValueError: created, not yet sized
                if process is not None and process.poll() is not None:
                    raise ServerGone(f"the audio server {name!r} exited with code "
                                     f"{process.returncode} before it was ready") from None
                if time.monotonic() > deadline:
                    raise AtomsynthError(f"no audio server named {name!r} is running") from None
                time.sleep(0.02)
        self.shm = shm
        head = np.ndarray((), Q.SERVER_DTYPE, buffer=shm.buf)
        while int(head["magic"]) != Q.MAGIC:  # the server writes it after its rings
            if time.monotonic() > deadline or (process is not None and process.poll()
                                               is not None):
                del head
                shm.close()
                raise AtomsynthError(f"shared memory {Q.segment_name(name)!r} is not an "
                                     "atomsynth server")
            time.sleep(0.005)
        version = int(head["version"])
        if version != Q.VERSION:
            del head
            shm.close()
            raise AtomsynthError(f"the audio server {name!r} speaks version {version}, this "
                                 f"client {Q.VERSION}")
        del head
        self.seg = Q.Segment(shm, create=False)
        self.pid = int(self.seg.server["pid"])
        self.slot = self._claim()
        self.cmd = self.seg.cmd[self.slot]
        self.evt = self.seg.evt[self.slot]
        self._seq = 0
        self._send_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._blobs: dict[int, Any] = {}
        self.refused = 0
        self.coalesced = 0
        self._held: dict[tuple, tuple[int, dict[str, Any]]] = {}
        self.status: dict[str, Any] = {}
        self.status_seq = 0
        self.acks: dict[int, str | None] = {}
        self.notices: list[str] = []
        self.errors: list[str] = []
        self.on_notice: Callable[[str], None] | None = None
        self.closed = False
        # the server sees the claim within one poll period
        while int(self.seg.slots[self.slot]["state"]) == Q.SLOT_CLAIMED:
            if not self.alive():
                raise ServerGone(f"the audio server {name!r} has exited")
            if time.monotonic() > deadline:
                raise AtomsynthError(f"the audio server {name!r} does not answer")
            time.sleep(0.002)

    # ------------------------------------------------------------------ lifetime
    @classmethod
    def spawn(cls, *, name: str | None = None, sample_rate: int | None = None,
              block_size: int = 256, device: int | str | None = None,
              latency: str | float = "low", ahead_blocks: int = 4, output: bool = True,
              skip_plugins: tuple[str, ...] = (), osc_port: int | None = None,
              jack_name: str = "atomsynth", timeout_s: float = 60.0) -> ServerClient:
        """Start a server process of one's own (it exits when its last client has gone)."""
        name = name or new_server_name()
        cmd = [sys.executable, "-m", "atomsynth", "serve", "--name", name, "--exit-when-unused",
               "--block-size", str(int(block_size)), "--ahead", str(int(ahead_blocks)),
               "--latency", str(latency)]
        if sample_rate is not None:
            cmd += ["--sample-rate", str(int(sample_rate))]
        if device is not None:
            cmd += ["--device", str(device)]
        if not output:
            cmd += ["--no-output"]
        if osc_port is not None:
            cmd += ["--osc-port", str(int(osc_port))]
        for path in skip_plugins:
            cmd += ["--skip-plugin", str(path)]
        cmd += ["--jack-name", str(jack_name)]
        root = Path(__file__).resolve().parents[2]  # the checkout (rt/server/ -> root)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=env, cwd=str(root),
                                start_new_session=True)
        try:
            return cls(name, process=proc, timeout_s=timeout_s)
        except BaseException:
            proc.kill()
            proc.wait()
            raise

    @classmethod
    def connect(cls, name: str, *, timeout_s: float = 2.0) -> ServerClient:
        """Attach to the running server ``name`` (``atomsynth serve --name NAME``)."""
        return cls(name, timeout_s=timeout_s)

    def _claim(self) -> int:
        me = os.getpid()
        with open(_lock_path(self.name), "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                for k in range(Q.N_SLOTS):
                    slot = self.seg.slots[k]
                    if int(slot["state"]) == Q.SLOT_FREE:
                        slot["pid"] = me
                        slot["state"] = Q.SLOT_CLAIMED
                        return k
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        self._release()
        raise AtomsynthError(f"the audio server {self.name!r} already has {Q.N_SLOTS} clients")

    def alive(self) -> bool:
        """Whether the server process still runs (a crashed or killed server is not)."""
        if self.process is not None:
            return self.process.poll() is None
        if self.seg.server is None or int(self.seg.server["state"]) == Q.S_CLOSED:
            return False
        return pid_alive(self.pid)

    def close(self, *, shutdown: bool = False, timeout_s: float = 1.0) -> None:
        """Detach (and with ``shutdown``, stop the server); returns within ``timeout_s``
        (a server that does not exit by then is killed, if this client started it)."""
        if self.closed:
            return
        self.closed = True
        if self.alive():
            self._send(Q.OP_SHUTDOWN if shutdown else Q.OP_DETACH)
        if self.process is not None:
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                if shutdown:
                    self.process.kill()
                    self.process.wait()
        for shm in self._blobs.values():
            _unlink(shm)
        self._blobs.clear()
        self._release()

    def _release(self) -> None:
        self.seg.release()
        try:
            self.shm.close()
        except BufferError:
            pass

    # ------------------------------------------------------------------ sending
    def _send(self, op: int, *, key: tuple | None = None, **fields: Any) -> int:
        """Publish one command; returns its sequence number, -1 when refused (the ring is
        full), 0 when held. A keyed command (a macro, a group setting) that finds the ring full
        is held instead, the newest per key, and sent as soon as there is room (the next send
        or :meth:`poll`): a burst of moves of one control is never refused and its last value
        arrives."""
        with self._send_lock:
            if self.closed and op not in (Q.OP_DETACH, Q.OP_SHUTDOWN):
                raise ServerGone(f"the connection to the audio server {self.name!r} is closed")
            self._flush_held()
            if key is not None and key in self._held:  # still no room: the newest value wins
                self._held[key] = (op, fields)
                self.coalesced += 1
                return 0
            rec = self.cmd.slot()
            if rec is None:
                if key is not None:
                    self._held[key] = (op, fields)
                    return 0
                self.refused += 1
                return -1
            return self._write(rec, op, **fields)

    @property
    def held(self) -> int:
        """Keyed commands waiting for room in the command ring."""
        return len(self._held)

    def _flush_held(self) -> None:
        """Send held commands, oldest key first, while the ring has room (send lock held)."""
        while self._held:
            rec = self.cmd.slot()
            if rec is None:
                return
            key = next(iter(self._held))
            op, fields = self._held.pop(key)
            self._write(rec, op, **fields)

    def _write(self, rec: Any, op: int, *, i0: int = 0, i1: int = 0, mask: int = 0,
               f0: float = 0.0, f1: float = 0.0, f2: float = 0.0, name: str = "",
               blob: bytes | None = None, segment: str | None = None) -> int:
        """Fill the ring's free record ``rec`` and publish it (send lock held)."""
        self._seq += 1
        seq = self._seq
        if blob is not None:
            shm = Q.create_shared(None, len(blob))
            shm.buf[: len(blob)] = blob
            self._blobs[seq] = shm
            rec["blob"] = shm.name.lstrip("/").encode()
            rec["blob_size"] = len(blob)
        elif segment is not None:
            rec["blob"] = segment.lstrip("/").encode()
        rec["op"], rec["seq"], rec["i0"], rec["i1"], rec["mask"] = op, seq, i0, i1, mask
        rec["f0"], rec["f1"], rec["f2"] = f0, f1, f2
        rec["name"] = Q.put_text(48, name)
        self.cmd.publish()
        return seq

    @property
    def last_seq(self) -> int:
        """Sequence number of the last command sent."""
        return self._seq

    def load(self, data: bytes) -> int:
        """Send an atom set as ``.atoms`` bytes (:func:`atomsynth.rt.atomfile.to_bytes`)."""
        return self._send(Q.OP_LOAD, blob=data)

    def play(self) -> int:
        return self._send(Q.OP_PLAY)

    def pause(self) -> int:
        return self._send(Q.OP_PAUSE)

    def stop(self) -> int:
        return self._send(Q.OP_STOP)

    def seek(self, seconds: float) -> int:
        return self._send(Q.OP_SEEK, f0=float(seconds))

    def set_loop(self, start_s: float | None, end_s: float | None = None) -> int:
        if start_s is None:
            return self._send(Q.OP_LOOP, i0=0)
        return self._send(Q.OP_LOOP, i0=1, f0=float(start_s), f1=float(end_s))

    def set_macro(self, name: str, value: float) -> int:
        return self._send(Q.OP_MACRO, key=("macro", name), name=name, f0=float(value))

    def set_group(self, group: int, *, gain_db: float | None = None, pan: float | None = None,
                  mute: bool | None = None, solo: bool | None = None,
                  room_send: float | None = None) -> int:
        mask = ((Q.GROUP_GAIN if gain_db is not None else 0)
                | (Q.GROUP_PAN if pan is not None else 0)
                | (Q.GROUP_MUTE if mute is not None else 0)
                | (Q.GROUP_SOLO if solo is not None else 0)
                | (Q.GROUP_SEND if room_send is not None else 0))
        flags = (1 if mute else 0) | (2 if solo else 0)
        return self._send(Q.OP_GROUP, key=("group", int(group), mask), i0=int(group), i1=flags,
                          mask=mask,
                          f0=float(gain_db or 0.0), f1=float(pan or 0.0),
                          f2=float(room_send or 0.0))

    def set_atoms(self, indices, **params: Any) -> int:
        data = {"indices": np.atleast_1d(np.asarray(indices)).astype(np.int64).tolist(),
                "params": {k: (np.asarray(v).tolist() if np.ndim(v) else float(v))
                           for k, v in params.items()}}
        return self._send(Q.OP_ATOMS, blob=json.dumps(data).encode("utf-8"))

    def effects_change(self, change: dict[str, Any]) -> int:
        """One effect-chain change (see :func:`atomsynth.rt.server.effects_spec.apply_change`;
        ``{"op": "replace", "spec": ...}`` replaces the whole chain)."""
        return self._send(Q.OP_EFFECTS, blob=json.dumps(change).encode("utf-8"))

    def start_capture(self, *, device: int, sample_rate: int, channels: int, seconds: float,
                      block: int = 0) -> SharedCapture:
        """Record input ``device`` inside the server process (its own JACK client, so the
        recording runs in lockstep with its playback): for loopback tests and latency
        measurements. Returns once the recording runs."""
        total = int(seconds * sample_rate) * channels
        shm = Q.create_shared(None, 4 * (8 + total))
        raw = np.ndarray((8 + total,), np.float32, buffer=shm.buf)
        raw[:] = 0.0
        seq = self._send(Q.OP_CAPTURE, i0=int(device), i1=int(channels), mask=int(block),
                         f0=float(seconds), segment=shm.name)
        cap = SharedCapture(self, shm, raw, channels)
        try:
            self.wait(seq, timeout_s=10.0)
        except BaseException:
            cap.close()
            raise
        return cap

    def render(self, atom_set: Any, *, sample_rate: int | None = None,
               duration_s: float | None = None, timeout_s: float = 3600.0,
               progress: Any = None) -> np.ndarray:
        """Render ``atom_set`` offline in the server, through the server's rooms and inserts
        (hosted plugins included), in a low-priority thread beside its playback. Returns
        float64, shape (channels, samples) (float32 precision)."""
        import math

        from atomsynth.rt.atomfile import to_bytes

        sr = int(sample_rate or self.server_info().get("sample_rate") or atom_set.sample_rate)
        dur = atom_set.length_s if duration_s is None else float(duration_s)
        total = int(math.ceil(dur * sr - 1e-9))
        channels = atom_set.channels
        shm = Q.create_shared(None, 4 * (Q.RENDER_HDR + channels * total))
        raw = np.ndarray((Q.RENDER_HDR + channels * total,), np.float32, buffer=shm.buf)
        try:
            raw[:Q.RENDER_HDR] = 0.0
            seq = self._send(Q.OP_RENDER, i0=sr, i1=total, name=shm.name.lstrip("/"),
                             blob=to_bytes(atom_set))
            self.wait(seq, timeout_s=60.0)
            deadline = time.monotonic() + timeout_s
            while raw[0] == 0.0:
                if not self.alive():
                    raise ServerGone(f"the audio server {self.name!r} died while rendering")
                if time.monotonic() > deadline:
                    raise AtomsynthError(f"the render took more than {timeout_s} s")
                if progress is not None:
                    progress(float(raw[1]))
                time.sleep(0.02)
            if raw[0] < 0:
                raise AtomsynthError("the audio server could not render the set (see its log)")
            out = raw[Q.RENDER_HDR:].reshape(channels, total).astype(np.float64)
        finally:
            del raw
            shm.close()
            shm.unlink()
        return out

    # ------------------------------------------------------------------ reading
    def poll(self) -> dict[str, Any]:
        """Send held commands there is room for, read every pending event; returns the latest
        status (also in ``status``)."""
        if self._held and not self.closed:
            with self._send_lock:
                self._flush_held()
        with self._read_lock:
            if self.seg.server is None:
                return self.status
            while True:
                ev = self.evt.pop()
                if ev is None:
                    break
                kind, seq = int(ev["kind"]), int(ev["seq"])
                if kind == Q.EV_STATUS:
                    st = {k: ev[k].item() for k in STATUS_KEYS}
                    st["playing"] = bool(ev["playing"])
                    st["rendering"] = bool(ev["rendering"])
                    st["levels_db"] = [float(x) for x in ev["levels_db"][: int(ev["n_levels"])]]
                    st["seq"] = seq
                    self.status = st
                    self.status_seq = seq
                elif kind in (Q.EV_ACK, Q.EV_ERROR):
                    msg = Q.text(ev["text"]) if kind == Q.EV_ERROR else None
                    self.acks[seq] = msg
                    if msg:
                        self.errors.append(msg)
                    shm = self._blobs.pop(seq, None)
                    if shm is not None:
                        _unlink(shm)
                    if len(self.acks) > 4096:
                        for old in sorted(self.acks)[:2048]:
                            del self.acks[old]
                elif kind == Q.EV_NOTICE:
                    msg = Q.text(ev["text"])
                    self.notices.append(msg)
                    if self.on_notice is not None:
                        self.on_notice(msg)
            return self.status

    def wait(self, seq: int, *, timeout_s: float = 30.0) -> None:
        """Wait until command ``seq`` has been carried out; raise its error, if any."""
        if seq < 0:
            raise AtomsynthError("the command was refused: the server's command ring is full")
        deadline = time.monotonic() + timeout_s
        while True:
            self.poll()
            if seq in self.acks:
                msg = self.acks[seq]
                if msg:
                    if "device" in msg.lower() or "portaudio" in msg.lower():
                        raise AudioDeviceError(msg)
                    raise AtomsynthError(msg)
                return
            if not self.alive():
                raise ServerGone(f"the audio server {self.name!r} has exited "
                                 f"({self.server_problem() or 'no message'})")
            if time.monotonic() > deadline:
                raise AtomsynthError(f"the audio server did not answer within {timeout_s} s")
            time.sleep(0.002)

    def server_info(self) -> dict[str, Any]:
        """The server record: stream rate, block, channels, device, latency, priority, gc."""
        srv = self.seg.server
        if srv is None:
            return {}
        return {"pid": int(srv["pid"]), "state": int(srv["state"]),
                "sample_rate": int(srv["sample_rate"]), "block_size": int(srv["block_size"]),
                "channels": int(srv["channels"]), "device_index": int(srv["device_index"]),
                "latency_s": float(srv["latency_s"]), "osc_port": int(srv["osc_port"]),
                "osc_messages": int(srv["osc_messages"]), "osc_bad": int(srv["osc_bad"]),
                "render_priority": Q.text(srv["render_priority"]),
                "control_priority": Q.text(srv["control_priority"]),
                "gc_mode": Q.text(srv["gc_mode"]), "plugins": Q.text(srv["plugins"]),
                "last_plugin": Q.text(srv["last_plugin"]),
                "problem": Q.text(srv["problem"]), "jack_name": Q.text(srv["jack_name"])}

    def server_problem(self) -> str:
        srv = self.seg.server
        return Q.text(srv["problem"]) if srv is not None else ""


class SharedCapture:
    """A recording the server makes into shared memory (see :meth:`ServerClient.start_capture`);
    ``hdr`` and ``data`` as :class:`~atomsynth.rt.pa_stream.CaptureStream`'s."""

    def __init__(self, client: ServerClient, shm, raw: np.ndarray, channels: int) -> None:
        self.client, self.shm, self.raw, self.channels = client, shm, raw, channels
        self.hdr = raw[:8].view(np.int64)
        self.closed = False

    @property
    def data(self) -> np.ndarray:
        """The recorded frames so far, (frames, channels) float32 (a copy)."""
        n = int(self.hdr[1])
        return self.raw[8 : 8 + n].reshape(-1, self.channels).copy()

    def close(self) -> None:
        """Stop the recording (the data stay readable)."""
        if self.closed:
            return
        self.closed = True
        if self.client.alive() and not self.client.closed:
            self.client.wait(self.client._send(Q.OP_CAPTURE_STOP), timeout_s=5.0)
        self.raw = self.raw.copy()
        self.hdr = self.raw[:8].view(np.int64)
        _unlink(self.shm)


def _unlink(shm) -> None:
    try:
        shm.close()
        shm.unlink()
    except (FileNotFoundError, BufferError):
        pass


__all__ = ["STATUS_KEYS", "ServerClient", "SharedCapture", "ServerGone", "new_server_name"]
