"""The public real-time API: :class:`Engine` plays an atom set and takes live edits.

With an output device, an ``Engine`` is a client of the audio server (``atomsynth serve``, see
``docs/server.md``): :meth:`Engine.start` starts a server process of its own (or, with
``server="NAME"``, attaches to one already running), sends the atom set as ``.atoms`` bytes
and then forwards every edit and transport command through the server's shared-memory command
ring; :meth:`Engine.stats` reads the status records the server publishes. Nothing this process
does (drawing, garbage collection, a fit) can make the server miss a block. The setters still
validate their arguments here, at once, and return without waiting.

Without an output device (``output=False``) no server is needed: the engine renders in this
process (:class:`~atomsynth.rt.server.core.AudioCore`), for offline renders and edits.

Usage::

    from atomsynth.rt.engine import Engine, list_output_devices
    with Engine(atom_set, block_size=256) as eng:
        eng.play()
        eng.set_macro("pitch", 1.5)
        print(eng.stats())
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.effects import EffectsBridge
from atomsynth.rt.errors import AtomsynthError
from atomsynth.rt.progress import Progress
from atomsynth.rt.replay import Controls, render_through, render_with_controls
from atomsynth.rt.server.core import ROOM_BUSES, AudioCore, check_stream_options
from atomsynth.rt.server.devices import (
    list_output_devices,
    rescan_output_devices,
    resolve_output_device,
)
from atomsynth.rt.server.remote_effects import RemoteEffects
from atomsynth.rt.synth import StreamingSynth

WATCH_S = 0.05
LINKS_EVERY_S = 1.0
"""How often the watchdog reads the connections of the server's JACK ports."""
"""How often the engine checks that its server process is alive (a dead one is noticed and
replaced within this period plus the restart)."""


def device_rate(device_index: int) -> int:
    """The default sample rate of output device ``device_index`` (JACK: the server's rate)."""
    for d in list_output_devices():
        if d["index"] == device_index:
            return int(round(d["default_samplerate"]))
    return 48000


class Engine:
    """Plays an atom set in real time and takes live edits (see the module).

    Parameters
    ----------
    atom_set : AtomSet
    sample_rate : int or None
        Output rate in Hz. None: the output device's own rate (resonant atoms are continuous
        in time and render at any rate; MDCT atoms are synthesized at the set's rate and
        resampled).
    block_size : int
        Frames per block, 16 to 8192 (the PortAudio block size and the render block).
    device : int, str or None
        Output device index, or a substring of its name; None for the default output.
    latency : str or float
        PortAudio latency ("low", "high" or seconds).
    output : bool
        False: no audio device and no server; rendering only through :meth:`render_offline`.
    ahead_blocks : int
        Blocks the server renders ahead of the audio callback.
    effects : EffectsBridge, optional
        The room / insert chain; default: rooms of the set's ``room_names``. It is described
        to the server as data (rooms, effects, plugin paths and parameter values).
    freeze_gc : bool
        ``gc.freeze()`` in this process at start, so that its later full collections scan only
        new objects (the server process always freezes and disables its own collector while
        playing; this only makes the client's collections shorter).
    server : str, optional
        Attach to the running server of this name instead of starting one.
    """

    def __init__(self, atom_set: AtomSet, *, sample_rate: int | None = 48000, block_size: int = 256,
                 device: int | str | None = None, latency: str | float = "low",
                 output: bool = True, ahead_blocks: int = 4,
                 effects: EffectsBridge | None = None, freeze_gc: bool = True,
                 server: str | None = None) -> None:
        self.output = bool(output)
        self._local: AudioCore | None = None
        device_index = None
        if self.output and not server:
            device_index = resolve_output_device(device)
        if sample_rate is None:
            sample_rate = device_rate(device_index) if (
                device_index is not None) else atom_set.sample_rate
        if not self.output:
            self._local = AudioCore(atom_set, sample_rate=sample_rate, block_size=block_size,
                                    output=False, ahead_blocks=ahead_blocks, effects=effects,
                                    freeze_gc=freeze_gc)
            self._synth = self._local._synth
            self.sample_rate, self.block_size = self._local.sample_rate, self._local.block_size
            self.channels, self.atom_set = self._local.channels, atom_set
            self.latency, self.device_index = latency, None
            self.effects = self._local.effects
            return
        check_stream_options(block_size=block_size, ahead_blocks=ahead_blocks)
        self.block_size = int(block_size)
        self.ahead_blocks = int(ahead_blocks)
        self._synth = StreamingSynth(atom_set, sample_rate=sample_rate, max_block=8192,
                                     n_rooms=ROOM_BUSES)
        self.sample_rate = self._synth.sample_rate
        self.channels = atom_set.channels
        self.atom_set = atom_set
        self.latency = latency
        self.freeze_gc = bool(freeze_gc)
        self.server_name = server
        self.device_index: int | None = device_index
        local_fx = effects if effects is not None else EffectsBridge(
            sample_rate=self.sample_rate, channels=self.channels,
            room_names=atom_set.room_names)
        self.effects = RemoteEffects(local_fx, self._send_effects)
        self.controls = Controls()  # replayed on a new server and by offline renders
        self._loop: tuple[float, float] | None = None
        self._client = None
        self._playing = False
        self._transport_seq = 0
        self._position_s = 0.0
        self._seek_seq = 0
        self._lock = threading.RLock()
        self._closing = True
        self._watchdog: threading.Thread | None = None
        self.skipped_plugins: list[str] = []
        self.recoveries: list[dict[str, Any]] = []
        self.device_events: list[dict[str, Any]] = []
        self.jack_links: list[tuple[str, str]] = []
        """Connections of the server's JACK ports, ``(our port, other port)``, read every
        :data:`LINKS_EVERY_S` by the watchdog and made again on a new server."""
        self._links_at = 0.0
        self._restoring = False  # a new server is being started: edits wait in _queued
        self._queued: list[Callable[[Any], Any]] = []
        self.problem: str | None = None
        self.on_server_lost: Callable[[str], None] | None = None
        """Called (from the watchdog thread) with a message when the server died and was
        restarted with the engine's state."""

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self):
        """The :class:`~atomsynth.rt.server.client.ServerClient` (None before start)."""
        return self._client

    def warm(self) -> None:
        """Compile the kernels here (output-less engines; a server warms its own)."""
        if self._local is not None:
            self._local.warm()

    def start(self) -> None:
        """Start (or attach to) the audio server, send the set, the effects and every control
        set so far, and wait until the stream is open (transport paused)."""
        if self._local is not None:
            self._local.start()
            return
        if self._client is not None:
            return
        with self._lock:
            self._client = self._connect_and_restore()
        if self.freeze_gc:
            gc.collect()
            gc.freeze()
        if not self.server_name:
            self._closing = False
            self._watchdog = threading.Thread(target=self._watch, name="atomsynth-watchdog",
                                              daemon=True)
            self._watchdog.start()

    def _connect_and_restore(self, *, position_s: float = 0.0, playing: bool = False):
        """A client of a new (or the named) server that holds this engine's whole state: set,
        effects, macros, mixer, per-atom edits, loop, position and transport."""
        from atomsynth.rt.atomfile import to_bytes
        from atomsynth.rt.server import effects_spec
        from atomsynth.rt.server.client import ServerClient

        with self._lock:  # the state now; edits from here on wait in _queued (see _to_server)
            spec = effects_spec.describe(self.effects.local)
            macros = dict(self.controls.macros)
            groups = {g: dict(kw) for g, kw in self.controls.groups.items()}
            atoms = to_bytes(self.atom_set)
            atom_edits = [(idx, dict(kw)) for idx, kw in self.controls.atom_edits]
            loop = self._loop
            self._queued = []
        if self.server_name:
            client = ServerClient.connect(self.server_name)
        else:
            client = ServerClient.spawn(sample_rate=self.sample_rate,
                                        block_size=self.block_size, device=self.device_index,
                                        latency=self.latency, ahead_blocks=self.ahead_blocks,
                                        skip_plugins=tuple(self.skipped_plugins))
        try:
            client.effects_change({"op": "replace", "spec": spec})
            for name, v in macros.items():
                client.set_macro(name, v)
            for g, kw in groups.items():
                client.set_group(g, **kw)
            seq = client.load(atoms)
            for idx, kw in atom_edits:
                client.set_atoms(idx, **kw)
            if loop is not None:
                client.set_loop(*loop)
            if position_s:
                client.seek(position_s)
            if playing:
                self._transport_seq = client.play()
            client.wait(seq, timeout_s=60.0)
            info = client.server_info()
            self.device_index = info["device_index"]
            if info["sample_rate"] != self.sample_rate:  # an existing server's rate
                self._adopt_rate(info["sample_rate"])
        except BaseException:
            client.close(shutdown=not self.server_name)
            raise
        return client

    # ------------------------------------------------------------------ recovery
    def _watch(self) -> None:
        """Notice a dead server within :data:`WATCH_S` and restore everything on a new one."""
        seen = 0
        while not self._closing:
            time.sleep(WATCH_S)
            client = self._client
            if client is None or self._closing:
                continue
            try:
                if not client.alive():
                    self._recover(client)
                    seen = 0
                    continue
                client.poll()
                self._record_links(client)
                notices = client.notices
                lost = [n for n in notices[seen:] if n.startswith("device lost")]
                seen = len(notices)
                if lost:
                    self._device_lost(client, lost[0])
                    seen = 0
            except Exception as exc:  # noqa: BLE001 - reported; the app stays up
                self.problem = f"the audio server could not be restarted: {exc}"
                self._notify(self.problem)
                return

    def _record_links(self, client) -> None:
        now = time.monotonic()
        if now < self._links_at:
            return
        self._links_at = now + LINKS_EVERY_S
        from atomsynth.rt.server.jack_links import port_links

        links = port_links(client.server_info().get("jack_name", ""))
        if links is not None:
            self.jack_links = links

    def _restore_links(self) -> None:
        """Connect the new server's JACK ports as the old one's were (problems are notices)."""
        if not self.jack_links or self._client is None:
            return
        from atomsynth.rt.server.jack_links import restore_links

        name = self._client.server_info().get("jack_name", "")
        if name:
            for problem in restore_links(name, self.jack_links):
                self._notify(f"JACK connection not restored: {problem}")
        self._links_at = 0.0

    def _device_lost(self, client, message: str) -> None:
        """The device went away: tell the listener, stop that server (within a second, even
        if its stream hangs) and start a new one every second until the device is back."""
        t0 = time.monotonic()
        st = client.poll()
        playing = bool(st.get("playing")) if st else self._playing
        position = float(st.get("position_s", self._position_s)) if st else self._position_s
        self.problem = message
        self._notify(message)
        with self._lock:
            self._client = None
            self._playing = playing
            self._position_s = position
        client.close(shutdown=True, timeout_s=1.0)
        self.device_events.append({"lost": message, "detected_at": t0})
        self._restoring = True
        while not self._closing:
            try:
                self._install(self._connect_and_restore(position_s=position, playing=playing))
                break
            except AtomsynthError:
                time.sleep(1.0)
        if self._client is not None:
            self._restore_links()
            back = f"audio device back: playback resumes at {position:.2f} s"
            self.device_events[-1]["back_at"] = time.monotonic()
            self.problem = None
            self._notify(back)

    def _recover(self, dead) -> None:
        t0 = time.monotonic()
        info = dead.server_info()
        st = dead.poll()
        code = dead.process.returncode if dead.process is not None else None
        how = (f"killed by signal {-code}" if code is not None and code < 0
               else f"exit code {code}")
        suspect = info.get("last_plugin") or ""
        playing = (bool(st.get("playing")) if st and dead.status_seq >= self._transport_seq
                   else self._playing)
        position = float(st.get("position_s", self._position_s)) if st else self._position_s
        with self._lock:
            dead.close()
            self._client = None
            self._restoring = True
            if suspect and suspect not in self.skipped_plugins:
                self.skipped_plugins.append(suspect)
                # this process's copy of the chain drops it too (a unity gain holds its place)
                from atomsynth.rt.server import effects_spec

                self.effects.local = effects_spec.build(
                    effects_spec.describe(self.effects.local), sample_rate=self.sample_rate,
                    channels=self.channels, skip_plugins=frozenset(self.skipped_plugins))
            msg = (f"the audio server (pid {info.get('pid')}) died ({how}); "
                   + (f"the active plugin was {suspect}: restarted without it"
                      if suspect else "no plugin was active: restarted")
                   + f"; playback restored at {position:.2f} s")
            self._playing = playing
        # without the lock: edits made meanwhile return at once and wait in _queued
        self._install(self._connect_and_restore(position_s=position, playing=playing))
        self._restore_links()
        self.recoveries.append({"message": msg, "detected_at": t0,
                                "restored_at": time.monotonic(), "suspect": suspect})
        self.problem = msg
        self._notify(msg)

    def _install(self, client) -> None:
        """Make ``client`` (a new server with the restored state) this engine's, after sending
        it the edits made while it was being started, in their order."""
        with self._lock:
            if self._closing:
                client.close(shutdown=not self.server_name, timeout_s=1.0)
                return
            for fn in self._queued:
                fn(client)
            self._queued = []
            self._client = client
            self._restoring = False

    def _to_server(self, fn: Callable[[Any], Any]) -> Any:
        """Send an edit (``fn(client)``, called with the lock held): now, or after the server
        being started has the restored state; None when it waits or there is no server."""
        if self._client is not None:
            return fn(self._client)
        if self._restoring:
            self._queued.append(fn)
        return None

    def _notify(self, message: str) -> None:
        cb = self.on_server_lost
        if cb is not None:
            try:
                cb(message)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop recovery
                pass

    def _adopt_rate(self, sample_rate: int) -> None:
        from atomsynth.rt.server import effects_spec

        self.sample_rate = int(sample_rate)
        self._synth = StreamingSynth(self.atom_set, sample_rate=self.sample_rate, max_block=8192,
                                     n_rooms=ROOM_BUSES)
        self.effects.local = effects_spec.build(effects_spec.describe(self.effects.local),
                                                sample_rate=self.sample_rate,
                                                channels=self.channels)

    def stop(self) -> None:
        """Stop the transport (fade out) and return to the start."""
        self.pause()
        self.seek(0.0)

    def close(self) -> None:
        """Detach from the server (stopping it if this engine started it); returns within
        about a second even when the server or the device hangs."""
        if self._local is not None:
            self._local.close()
            return
        self._closing = True
        if self._watchdog is not None:
            self._watchdog.join(timeout=1.0)
            self._watchdog = None
        with self._lock:
            if self._client is not None:
                client, self._client = self._client, None
                self._final_stats = self._stats_from(client)
                client.close(shutdown=not self.server_name, timeout_s=1.0)
                self._playing = False

    # ------------------------------------------------------------------ transport
    def _send_effects(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._to_server(lambda c: c.effects_change(change))

    def play(self) -> None:
        if self._local is not None:
            return self._local.play()
        with self._lock:
            self._playing = True
            self._to_server(lambda c: setattr(self, "_transport_seq", c.play()))

    def pause(self) -> None:
        if self._local is not None:
            return self._local.pause()
        with self._lock:
            self._playing = False
            self._to_server(lambda c: setattr(self, "_transport_seq", c.pause()))

    @property
    def playing(self) -> bool:
        if self._local is not None:
            return self._local.playing
        client = self._client
        if client is None:
            return self._playing and not self._closing  # device lost: waiting for it
        if not client.alive():
            return self._playing and not self._closing  # being restored by the watchdog
        st = client.poll()
        if st and client.status_seq >= self._transport_seq:
            return bool(st["playing"])
        return self._playing

    def seek(self, seconds: float) -> None:
        if self._local is not None:
            return self._local.seek(seconds)
        self._synth.prepare_seek(seconds)  # validates
        with self._lock:
            self._position_s = float(seconds)
            self._to_server(lambda c: setattr(self, "_seek_seq", c.seek(seconds)))

    def set_loop(self, start_s: float | None, end_s: float | None = None) -> None:
        if self._local is not None:
            return self._local.set_loop(start_s, end_s)
        self._synth.prepare_loop(start_s, end_s)
        with self._lock:
            self._loop = None if start_s is None else (float(start_s), float(end_s))
            self._to_server(lambda c: c.set_loop(start_s, end_s))

    @property
    def position_s(self) -> float:
        """Score position of the block now playing (or where the transport rests), seconds."""
        if self._local is not None:
            return self._local.position_s
        client = self._client
        if client is None:
            return self._position_s
        st = client.poll()
        if not st or client.status_seq < self._seek_seq:
            return self._position_s
        return float(st["position_s"])

    # ------------------------------------------------------------------ edits
    # Each setter validates here, records the change (the state a restarted server gets)
    # and sends it, under one lock, so that no edit falls between a dead server and its
    # replacement.
    def set_atom_set(self, atom_set: AtomSet) -> None:
        if self._local is not None:
            self.atom_set = atom_set
            return self._local.set_atom_set(atom_set)
        self._synth.prepare_atom_set(atom_set)  # validates (rooms, channels, rate)
        from atomsynth.rt.atomfile import to_bytes

        with self._lock:
            if [r.name for r in self.effects.local.rooms] != list(atom_set.room_names):
                self.effects.local.set_rooms(atom_set.room_names)  # the server does the same
            self.atom_set = atom_set
            self.controls.atom_edits.clear()
            data = to_bytes(atom_set)
            self._to_server(lambda c: c.load(data))

    def set_macro(self, name: str, value: float) -> None:
        if self._local is not None:
            return self._local.set_macro(name, value)
        self._synth.prepare_macro(name, value)
        with self._lock:
            self.controls.macros[name] = float(value)
            self._to_server(lambda c: c.set_macro(name, value))

    def set_group(self, group: int, *, gain_db: float | None = None, pan: float | None = None,
                  mute: bool | None = None, solo: bool | None = None,
                  room_send: float | None = None) -> None:
        kw = {k: v for k, v in dict(gain_db=gain_db, pan=pan, mute=mute, solo=solo,
                                    room_send=room_send).items() if v is not None}
        if self._local is not None:
            return self._local.set_group(group, **kw)
        self._synth.prepare_group(group, **kw)
        with self._lock:
            self.controls.groups.setdefault(int(group), {}).update(kw)
            self._to_server(lambda c: c.set_group(int(group), **kw))

    def set_atoms(self, indices: Sequence[int] | np.ndarray, **params: Any) -> None:
        if self._local is not None:
            return self._local.set_atoms(indices, **params)
        self._synth.prepare_atoms(indices, **params)
        with self._lock:
            idx, kw = np.atleast_1d(np.asarray(indices)).copy(), dict(params)
            self.controls.atom_edits.append((idx, kw))
            self._to_server(lambda c: c.set_atoms(idx, **kw))

    @property
    def edits_refused(self) -> int:
        if self._local is not None:
            return self._local.edits_refused
        return self._client.refused if self._client is not None else 0

    # ------------------------------------------------------------------ status
    def _stats_from(self, client) -> dict[str, Any]:
        st = dict(client.poll())
        info = client.server_info()
        out: dict[str, Any] = {
            "cpu_load": 0.0, "cpu_load_peak": 0.0, "callback_load_peak": 0.0,
            "portaudio_cpu_load": 0.0, "underflows": 0, "ring_misses": 0,
            "portaudio_underflows": 0, "callbacks": 0, "first_miss_callback": 0,
            "last_miss_callback": 0, "atoms_playing": 0, "latency_s": info.get("latency_s", 0.0),
            "levels_db": [-240.0] * self.channels, "position_s": self._position_s,
            "edits_refused": 0}
        out.update({k: v for k, v in st.items() if k not in ("seq", "rendering", "playing")})
        if client.status_seq < self._seek_seq:
            out["position_s"] = self._position_s
        out["edits_refused"] = int(out["edits_refused"]) + client.refused
        out.update(sample_rate=self.sample_rate, block_size=self.block_size,
                   render_priority=info.get("render_priority", "not started"),
                   control_priority=info.get("control_priority", ""),
                   gc_mode=info.get("gc_mode", ""), server_pid=info.get("pid", 0),
                   server_alive=client.alive(), server_errors=list(client.errors[-5:]))
        return out

    def stats(self) -> dict[str, Any]:
        """Counters and meters of the server (safe to call from any thread)."""
        if self._local is not None:
            return self._local.stats()
        if self._client is None:
            return dict(getattr(self, "_final_stats", {})) or {
                "underflows": 0, "ring_misses": 0, "portaudio_underflows": 0,
                "position_s": self._position_s, "atoms_playing": 0, "cpu_load": 0.0,
                "cpu_load_peak": 0.0, "callback_load_peak": 0.0, "latency_s": 0.0,
                "levels_db": [-240.0] * self.channels, "edits_refused": 0,
                "sample_rate": self.sample_rate, "block_size": self.block_size,
                "render_priority": "not started"}
        return self._stats_from(self._client)

    def sync(self, timeout_s: float = 5.0) -> None:
        """Wait until the server has carried out every command sent so far (raises the
        error of the last one, if it failed)."""
        if self._client is not None and self._client.last_seq > 0:
            self._client.wait(self._client.last_seq, timeout_s=timeout_s)

    # ------------------------------------------------------------------ offline
    @property
    def n_rooms(self) -> int:
        """Room buses of the engine's synthesizer (offline renders of its set use as many)."""
        return self._synth.n_rooms

    def render_offline(self, *, duration_s: float | None = None,
                       progress: Progress | None = None) -> np.ndarray:
        """Render the current set with the current controls and effects from the start, in
        this process (the same synthesizer and effects code as the server's playback, so the
        samples equal what the server played). Returns float64, shape (channels, samples)."""
        if self._local is not None:
            return self._local.render_offline(duration_s=duration_s, progress=progress)
        fx = self.effects.clone()
        block = self.block_size if fx.active else 8192
        return render_with_controls(self.atom_set, sample_rate=self.sample_rate,
                                    controls=self.controls, effects=fx, n_rooms=self.n_rooms,
                                    duration_s=duration_s, block=block, progress=progress)


__all__ = ["Engine", "device_rate", "list_output_devices", "render_through",
           "rescan_output_devices", "resolve_output_device"]
