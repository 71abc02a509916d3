"""The audio server process (``atomsynth serve``): owns the synth, the effects and the stream.

It imports neither Qt nor torch. Its threads:

* the control thread (the process's main thread): polls the clients' command rings every
  :data:`POLL_S`, validates and prepares each command (parsing ``.atoms`` bytes, building
  effects) and hands the prepared edit to the render thread; publishes a status record to every
  client about 50 times a second; notices clients that went away;
* the render-ahead thread and the GIL-free PortAudio callback of
  :class:`~atomsynth.rt.server.core.AudioCore` (SCHED_FIFO where the system grants it).

Garbage collection: after the kernels are warm and the stream is open, everything alive is
moved out of the collector's view (``gc.freeze()``) and automatic collection is switched off
(``gc.disable()``): nothing the render loop allocates per block (NumPy arrays, floats) is a
reference cycle, so reference counting frees it, and no collection pass can hold the GIL the
render thread needs. The control thread collects explicitly (``gc.collect(0)``) only while the
transport is stopped. The mode is reported in the server record (``gc_mode``).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import time
from typing import Any

import numpy as np

from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import AtomsynthError
from atomsynth.rt.processes import pid_alive
from atomsynth.rt.server import effects_spec
from atomsynth.rt.server import protocol as Q
from atomsynth.rt.server.core import AudioCore

POLL_S = 0.002
"""Control-thread poll period (an edit waits at most this long before the render thread sees
it)."""
DEVICE_LOST_S = 0.5
"""No audio callback for this long while the stream is open: the device (or the JACK server)
is gone; every client gets a notice starting with ``device lost``."""
STATUS_EVERY_S = 0.02
"""Status records per client: one every 20 ms."""


class ServerOptions:
    """How the server opens its stream (``atomsynth serve`` options)."""

    def __init__(self, *, name: str, sample_rate: int | None = None, block_size: int = 256,
                 device: int | str | None = None, latency: str | float = "low",
                 ahead_blocks: int = 4, output: bool = True, exit_when_unused: bool = False,
                 osc_port: int | None = None, osc_host: str = "127.0.0.1",
                 skip_plugins: tuple[str, ...] = (), jack_name: str = "atomsynth") -> None:
        self.name = name
        self.jack_name = jack_name
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.device = device
        self.latency = latency
        self.ahead_blocks = ahead_blocks
        self.output = output
        self.exit_when_unused = exit_when_unused
        self.osc_port = osc_port
        self.osc_host = osc_host
        self.skip_plugins = frozenset(skip_plugins)


class AudioServer:
    """The server's state and control loop (see the module)."""

    def __init__(self, options: ServerOptions) -> None:
        self.opt = options
        self.shm = Q.create_shared(Q.segment_name(options.name), Q.segment_bytes())
        self.seg = Q.Segment(self.shm, create=True)
        srv = self.seg.server
        srv["magic"], srv["version"], srv["pid"] = Q.MAGIC, Q.VERSION, os.getpid()
        srv["state"], srv["n_slots"], srv["device_index"] = Q.S_STARTING, Q.N_SLOTS, -1
        srv["osc_port"] = -1
        self.core: AudioCore | None = None
        self.atom_set: AtomSet | None = None
        self.effect_spec: dict[str, Any] | None = None
        self.effect_changes: list[dict[str, Any]] = []
        self.insert_paths: list[str | None] = []  # plugin path (or None) of every insert
        self.macros: dict[str, float] = {}
        self.groups: dict[int, dict[str, Any]] = {}
        self.last_seq = [0] * Q.N_SLOTS
        self.ever_attached = False
        self.unused_since = time.monotonic()
        self.running = True
        self.osc = None
        self.bad_messages = 0
        self.capture = None
        self.next_pid_check = 0.0
        self.last_calls, self.last_calls_at, self.device_lost = -1, time.monotonic(), False

    # ------------------------------------------------------------------ core lifetime
    def _core_fits(self, aset: AtomSet) -> bool:
        c = self.core
        rooms = len(aset.room_names)
        if len(aset.resonant):
            rooms = max(rooms, int(aset.resonant.room.max()) + 1)
        return c is not None and c.channels == aset.channels and rooms <= c.n_rooms

    def _sample_rate_for(self, aset: AtomSet) -> int:
        if self.opt.sample_rate is not None:
            return int(self.opt.sample_rate)
        return int(aset.sample_rate)

    def _build_effects(self, sample_rate: int, channels: int, room_names) -> Any:
        spec = dict(self.effect_spec) if self.effect_spec is not None else {
            "rooms": list(room_names), "room_files": {}, "inserts": []}
        spec["rooms"] = list(room_names)
        fx = effects_spec.build(spec, sample_rate=sample_rate, channels=channels,
                                skip_plugins=self.opt.skip_plugins)
        for change in self.effect_changes:
            effects_spec.apply_change(fx, change, skip_plugins=self.opt.skip_plugins)
        fx.describe()
        return fx

    def load(self, aset: AtomSet) -> None:
        """Play ``aset`` from now on: an edit of the running core when it fits (same channels,
        no more rooms than its buses: new room names are swapped in; MDCT atoms at another
        rate are resampled), else a new core (stream reopened)."""
        if self._core_fits(aset):
            self.core.set_atom_set(aset)
            self.atom_set = aset
            return
        old, self.core = self.core, None
        position, playing = 0.0, False
        if old is not None:
            position, playing = old.position_s, old.playing
            old.close()
        sr = self._sample_rate_for(aset)
        fx = self._build_effects(sr, aset.channels, aset.room_names)
        core = AudioCore(aset, sample_rate=sr, block_size=self.opt.block_size,
                         device=self.opt.device, latency=self.opt.latency,
                         output=self.opt.output, ahead_blocks=self.opt.ahead_blocks,
                         effects=fx, freeze_gc=False)
        for name, v in self.macros.items():
            core.set_macro(name, v)
        for g, kw in self.groups.items():
            core.set_group(g, **kw)
        gc.enable()
        core.start()
        self.core, self.atom_set = core, aset
        if position:
            core.seek(position)
        if playing:
            core.play()
        self._publish_info()
        gc.collect()
        gc.freeze()
        gc.disable()
        self.seg.server["gc_mode"] = b"frozen, automatic collection off"

    def _publish_info(self) -> None:
        srv, core = self.seg.server, self.core
        srv["sample_rate"], srv["block_size"] = core.sample_rate, core.block_size
        srv["channels"] = core.channels
        srv["device_index"] = -1 if core.device_index is None else core.device_index
        st = core.stats()
        srv["latency_s"] = st["latency_s"]
        srv["render_priority"] = Q.put_text(48, str(st["render_priority"]))
        srv["plugins"] = Q.put_text(256, "; ".join(p for p in self.insert_paths if p))
        from atomsynth.rt.server.jack_links import jack_client_name

        srv["jack_name"] = Q.put_text(64, jack_client_name() if core.device_index is not None
                                      else "")

    # ------------------------------------------------------------------ commands
    def _read_blob(self, cmd: np.ndarray) -> bytes:
        shm = Q.attach_shared(Q.text(cmd["blob"]))
        try:
            return bytes(shm.buf[: int(cmd["blob_size"])])
        finally:
            shm.close()

    def handle(self, cmd: np.ndarray) -> str | None:
        """Carry out one command record; returns an error message or None."""
        op = int(cmd["op"])
        core = self.core
        if op == Q.OP_LOAD:
            from atomsynth.rt.atomfile import from_bytes

            self.load(from_bytes(self._read_blob(cmd), name="client's atom set"))
            return None
        if op == Q.OP_EFFECTS:
            change = json.loads(self._read_blob(cmd).decode("utf-8"))
            self._track_plugins(change)
            if change.get("op") == "replace":
                self.effect_spec, self.effect_changes = change["spec"], []
                if core is not None:
                    # a new chain: built here, swapped in at the next block
                    fx = self._build_effects(core.sample_rate, core.channels,
                                             core.atom_set.room_names)
                    core.effects = fx
            else:
                self.effect_changes.append(change)
                if core is not None:
                    n = len(core.effects.errors)
                    effects_spec.apply_change(core.effects, change,
                                              skip_plugins=self.opt.skip_plugins)
                    if len(core.effects.errors) > n:
                        return core.effects.errors[-1]
            if core is not None:
                self._publish_info()
            return None
        if op == Q.OP_CAPTURE:
            self._stop_capture()
            from atomsynth.rt.pa_stream import CaptureStream

            shm = Q.attach_shared(Q.text(cmd["blob"]))
            n = int(cmd["f0"] * (self.core.sample_rate if core else 48000)) * int(cmd["i1"])
            raw = np.ndarray((8 + n,), np.float32, buffer=shm.buf)
            try:
                cap = CaptureStream(device=int(cmd["i0"]), channels=int(cmd["i1"]),
                                    sample_rate=core.sample_rate if core else 48000,
                                    seconds=float(cmd["f0"]), block=int(cmd["mask"]), raw=raw)
                cap.start()
            except BaseException:
                del raw
                shm.close()
                raise
            self.capture = (cap, shm, raw)
            return None
        if op == Q.OP_RENDER:
            from atomsynth.rt.atomfile import from_bytes

            aset = from_bytes(self._read_blob(cmd), name="client's atom set")
            sr, total = int(cmd["i0"]), int(cmd["i1"])
            shm = Q.attach_shared(Q.text(cmd["name"]))
            fx = self._build_effects(sr, aset.channels, aset.room_names)  # plugins load here
            threading.Thread(target=render_job, args=(aset, fx, sr, total, shm),
                             name="atomsynth-offline-render", daemon=True).start()
            return None
        if op == Q.OP_CAPTURE_STOP:
            self._stop_capture()
            return None
        if op == Q.OP_SHUTDOWN:
            self.running = False
            return None
        if op == Q.OP_MACRO:
            name, value = Q.text(cmd["name"]), float(cmd["f0"])
            if core is not None:
                core.set_macro(name, value)
            self.macros[name] = value
            return None
        if op == Q.OP_GROUP:
            mask, flags = int(cmd["mask"]), int(cmd["i1"])
            kw: dict[str, Any] = {}
            if mask & Q.GROUP_GAIN:
                kw["gain_db"] = float(cmd["f0"])
            if mask & Q.GROUP_PAN:
                kw["pan"] = float(cmd["f1"])
            if mask & Q.GROUP_SEND:
                kw["room_send"] = float(cmd["f2"])
            if mask & Q.GROUP_MUTE:
                kw["mute"] = bool(flags & 1)
            if mask & Q.GROUP_SOLO:
                kw["solo"] = bool(flags & 2)
            if core is not None:
                core.set_group(int(cmd["i0"]), **kw)
            self.groups.setdefault(int(cmd["i0"]), {}).update(kw)
            return None
        if core is None:
            return f"{Q.OP_NAMES.get(op, op)}: no atom set is loaded"
        if op == Q.OP_PLAY:
            core.play()
        elif op == Q.OP_PAUSE:
            core.pause()
        elif op == Q.OP_STOP:
            core.stop()
        elif op == Q.OP_SEEK:
            core.seek(float(cmd["f0"]))
        elif op == Q.OP_LOOP:
            core.set_loop(float(cmd["f0"]), float(cmd["f1"])) if int(cmd["i0"]) else \
                core.set_loop(None)
        elif op == Q.OP_ATOMS:
            data = json.loads(self._read_blob(cmd).decode("utf-8"))
            core.set_atoms(np.asarray(data["indices"], dtype=np.int64),
                           **{k: np.asarray(v) if isinstance(v, list) else v
                              for k, v in data["params"].items()})
        else:
            return f"command {op} is unknown"
        return None

    def _watch_device(self, now: float) -> None:
        core = self.core
        if core is None or not core.stream_open or self.device_lost:
            self.last_calls_at = now
            return
        calls = core.callbacks
        if calls != self.last_calls:
            self.last_calls, self.last_calls_at = calls, now
        elif now - self.last_calls_at > DEVICE_LOST_S:
            self.device_lost = True
            msg = (f"device lost: no audio callback for {now - self.last_calls_at:.1f} s on "
                   f"device {core.device_index} (unplugged, or the JACK server stopped)")
            self.seg.server["problem"] = Q.put_text(256, msg)
            self.broadcast(Q.EV_NOTICE, msg)

    def _track_plugins(self, change: dict[str, Any]) -> None:
        """Keep the plugin path of every insert, and name the plugin this change touches in
        the server record (``last_plugin``): if the server dies now, that plugin is the
        suspect."""
        op, touched = change.get("op"), None
        if op == "replace":
            self.insert_paths = [
                i.get("path") if i.get("kind") == "plugin"
                and i.get("path") not in self.opt.skip_plugins else None
                for i in change["spec"].get("inserts", ())]
        elif op == "add_effect":
            self.insert_paths.append(None)
        elif op == "load_plugin":
            touched = str(change.get("path"))
            self.insert_paths.append(None if touched in self.opt.skip_plugins else touched)
        elif op == "remove_insert" and 0 <= int(change.get("index", -1)) < len(
                self.insert_paths):
            self.insert_paths.pop(int(change["index"]))
        elif op == "set_param" and 0 <= int(change.get("index", -1)) < len(self.insert_paths):
            touched = self.insert_paths[int(change["index"])]
        if touched:
            self.seg.server["last_plugin"] = Q.put_text(256, touched)

    def _stop_capture(self) -> None:
        if self.capture is not None:
            cap, shm, raw = self.capture
            self.capture = None
            cap.close()
            del cap, raw
            try:
                shm.close()
            except BufferError:  # a view survived: the mapping goes with the process
                pass

    # ------------------------------------------------------------------ events
    def _event(self, slot: int, kind: int, seq: int, message: str = "") -> None:
        ring = self.seg.evt[slot]
        rec = ring.slot()
        if rec is None:
            return  # the client is not reading; it will see the next status
        rec["kind"], rec["seq"] = kind, seq
        if message:
            rec["text"] = Q.put_text(240, message)
        if kind == Q.EV_STATUS:
            self._fill_status(rec)
        ring.publish()

    def _fill_status(self, rec) -> None:
        core = self.core
        if core is None:
            return
        st = core.stats()
        for key in ("position_s", "underflows", "ring_misses", "portaudio_underflows",
                    "callbacks", "first_miss_callback", "last_miss_callback", "atoms_playing",
                    "edits_refused", "cpu_load", "cpu_load_peak", "callback_load_peak",
                    "portaudio_cpu_load", "latency_s"):
            rec[key] = st[key]
        rec["playing"] = int(core.playing)
        rec["rendering"] = int(core.rendering)
        levels = st["levels_db"][: Q.MAX_LEVELS]
        rec["n_levels"] = len(levels)
        rec["levels_db"][: len(levels)] = levels
        rec["device_ok"] = 0 if self.device_lost else 1

    def broadcast(self, kind: int, message: str) -> None:
        """An event to every attached client (e.g. a lost device)."""
        for k in range(Q.N_SLOTS):
            if int(self.seg.slots[k]["state"]) == Q.SLOT_ATTACHED:
                self._event(k, kind, self.last_seq[k], message)

    # ------------------------------------------------------------------ loop
    def _client_alive(self, pid: int) -> bool:
        return pid_alive(pid)

    def _service_slots(self, now: float, publish: bool) -> int:
        attached = 0
        check_pids = now >= self.next_pid_check
        if check_pids:
            self.next_pid_check = now + 0.1
        for k in range(Q.N_SLOTS):
            words = self.seg.slot_words[k]
            state = int(words[0])
            if state == Q.SLOT_FREE:
                continue
            slot = self.seg.slots[k]
            if state == Q.SLOT_CLAIMED:
                self.seg.cmd[k].reset()
                self.seg.evt[k].reset()
                self.last_seq[k] = 0
                slot["attached"] = slot["attached"] + 1
                slot["state"] = Q.SLOT_ATTACHED
                self.ever_attached = True
                state = Q.SLOT_ATTACHED
            if state == Q.SLOT_DETACHING or (check_pids and
                                              not self._client_alive(int(slot["pid"]))):
                slot["pid"] = 0
                slot["state"] = Q.SLOT_FREE
                continue
            attached += 1
            cmd_ring = self.seg.cmd[k]
            while True:
                cmd = cmd_ring.pop()
                if cmd is None:
                    break
                seq = int(cmd["seq"])
                if int(cmd["op"]) == Q.OP_DETACH:
                    slot["pid"] = 0
                    slot["state"] = Q.SLOT_FREE
                    break
                try:
                    err = self.handle(cmd)
                except (AtomsynthError, OSError, ValueError, KeyError, TypeError) as exc:
                    err = f"{Q.OP_NAMES.get(int(cmd['op']), 'command')}: {exc}"
                except Exception as exc:  # noqa: BLE001 - no command may end the server
                    err = f"{Q.OP_NAMES.get(int(cmd['op']), 'command')} failed: " \
                          f"{type(exc).__name__}: {exc}"
                self.last_seq[k] = seq
                self._event(k, Q.EV_ERROR if err else Q.EV_ACK, seq, err or "")
            if publish and int(words[0]) == Q.SLOT_ATTACHED:
                self._event(k, Q.EV_STATUS, self.last_seq[k])
        return attached

    def run(self) -> None:
        """Serve until a client asks for shutdown (or, with ``exit_when_unused``, until the
        last client has gone)."""
        self.seg.server["state"] = Q.S_READY
        next_status = time.monotonic()
        idle_collect = time.monotonic()
        while self.running:
            now = time.monotonic()
            publish = now >= next_status
            if publish:
                next_status = now + STATUS_EVERY_S
            attached = self._service_slots(now, publish)
            if self.osc is not None:
                self.osc.poll()
            if publish:
                self._watch_device(now)
            self.seg.heartbeat[0] += 1
            if attached:
                self.unused_since = now
            elif self.opt.exit_when_unused and now - self.unused_since > (
                    1.0 if self.ever_attached else 30.0):
                break
            if (now - idle_collect > 5.0 and not gc.isenabled()
                    and (self.core is None or not self.core.rendering)):
                idle_collect = now
                gc.collect(0)
            time.sleep(POLL_S)

    def close(self) -> None:
        self.seg.server["state"] = Q.S_CLOSED
        if self.osc is not None:
            self.osc.close()
        self._stop_capture()
        if self.core is not None:
            self.core.close()
            self.core = None
        self.seg.release()
        self.shm.close()
        try:
            self.shm.unlink()
        except FileNotFoundError:
            pass


CONTROL_RT_PRIORITY = 10
"""SCHED_FIFO priority of the control thread, under the render thread's (20): the control
thread holds the GIL while it handles a command, and a normal-priority holder that the kernel
descheduled in favour of other processes would keep the real-time render thread waiting for
the GIL (priority inversion). It sleeps between polls, so it takes little time."""


def raise_control_priority() -> str:
    """Ask for SCHED_FIFO :data:`CONTROL_RT_PRIORITY` for the calling (control) thread;
    returns what was granted."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(CONTROL_RT_PRIORITY))
        return f"SCHED_FIFO {CONTROL_RT_PRIORITY}"
    except (AttributeError, OSError):
        return "normal"


def warm_up() -> None:
    """Import and compile everything playback needs before the first client arrives."""
    from atomsynth.rt import synth_kernels as K

    K.warm_kernels()
    try:
        import pedalboard  # noqa: F401 - importing later would stall the control thread
    except ImportError:
        pass


def serve(options: ServerOptions, *, atoms_path: str | None = None) -> int:
    """Run a server in this process until it is shut down (the ``serve`` command)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(SystemExit(0)))
    if options.output and options.jack_name:
        from atomsynth.rt.server.jack_links import set_jack_client_name

        set_jack_client_name(options.jack_name)
    server = AudioServer(options)
    server.seg.server["gc_mode"] = b"automatic (nothing playing yet)"
    server.seg.server["control_priority"] = Q.put_text(48, raise_control_priority())
    try:
        warm_up()
        if options.osc_port is not None:
            from atomsynth.rt.server.osc import OscControl

            server.osc = OscControl(server, host=options.osc_host, port=options.osc_port)
            server.seg.server["osc_port"] = server.osc.port
        if atoms_path is not None:
            from atomsynth.rt.atomfile import load

            server.load(load(atoms_path))
        server.run()
    except SystemExit:
        pass
    except AtomsynthError as exc:
        server.seg.server["problem"] = Q.put_text(256, str(exc))
        server.seg.server["state"] = Q.S_FAILED
        print(f"atomsynth serve: {exc}", file=sys.stderr)
        time.sleep(0.5)
        return 1
    finally:
        server.close()
    return 0


def render_job(aset: AtomSet, fx: Any, sample_rate: int, total: int, shm: Any) -> None:
    """Render ``aset`` through ``fx`` into the segment ``shm`` (header
    :data:`~.protocol.RENDER_HDR`, then (channels, total) float32) in this thread, at a lower
    priority than playback (nice 10) and giving the GIL up between blocks."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except OSError:
        pass
    raw = np.ndarray((Q.RENDER_HDR + aset.channels * total,), np.float32, buffer=shm.buf)
    try:
        _render_into(raw, aset, fx, sample_rate, total)
        raw[0] = 1.0
    except Exception as exc:  # noqa: BLE001 - reported to the client, never fatal
        print(f"atomsynth serve: render failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        raw[0] = -1.0
    del raw
    try:
        shm.close()
    except BufferError:  # a view survived: the mapping goes with the process
        pass


def _render_into(raw: np.ndarray, aset: AtomSet, fx: Any, sample_rate: int,
                 total: int) -> None:
    from atomsynth.rt.replay import render_with_controls

    def progress(frac: float) -> None:
        raw[1] = frac
        time.sleep(0)  # let the render thread have the GIL

    mix = render_with_controls(aset, sample_rate=sample_rate, effects=fx,
                               duration_s=total / sample_rate, block=4096, progress=progress)
    n = min(total, mix.shape[1])
    raw[Q.RENDER_HDR:].reshape(aset.channels, total)[:, :n] = mix[:, :n]


def describe_threads() -> list[str]:
    """Names of this process's threads (for diagnostics)."""
    return [t.name for t in threading.enumerate()]


__all__ = ["AudioServer", "ServerOptions", "serve", "warm_up"]
