"""The audio core: streaming synth + effects bridge + a GIL-free PortAudio stream, in one process.

This is what the audio server (:mod:`atomsynth.rt.server.host`) runs; clients never create it
with an output device (the public :class:`atomsynth.rt.engine.Engine` talks to a server).
An output-less core (``output=False``) renders offline in the caller's process.

Threads:

* the caller (the server's control thread): setters validate their arguments and push the edit
  on a bounded, coalescing queue (:class:`~atomsynth.rt.edit_queue.EditQueue`: the newest
  macro or group value wins; a short lock between control and render threads) and return;
* the render-ahead thread: drains the queue, renders blocks (Numba kernels release the GIL)
  through the effects bridge into a ring of ``ahead_blocks`` float32 blocks, and measures its
  CPU load per block;
* the PortAudio callback: a Numba ``cfunc`` (:mod:`atomsynth.rt.pa_stream`) that copies the
  next ready block into the output buffer without taking the GIL (no Python, no allocation,
  no lock), or writes silence and counts a miss when none is ready.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from atomsynth.rt import pa_stream as P
from atomsynth.rt import synth_kernels as K
from atomsynth.rt.atoms import AtomSet, ResonantAtoms
from atomsynth.rt.edit_queue import EditQueue
from atomsynth.rt.effects import EffectsBridge
from atomsynth.rt.errors import AudioDeviceError, ParameterError
from atomsynth.rt.progress import Progress
from atomsynth.rt.replay import Controls, render_through, render_with_controls
from atomsynth.rt.server.devices import device_list_text, list_output_devices, resolve_output_device
from atomsynth.rt.synth import StreamingSynth

RENDER_RT_PRIORITY = 20
"""SCHED_FIFO priority asked for the render-ahead thread (JACK's own clients use ~70)."""

MAX_EDITS = 4096
"""Capacity of the edit queue; further edits are refused (counted in ``stats()``)."""


ROOM_BUSES = 8
"""Room buses the synthesizer gets up front (more when a set needs more): a set with new room
names swaps its rooms in without a new synthesizer or a new stream while it needs no more."""


def check_stream_options(*, block_size: int, ahead_blocks: int) -> None:
    """Refuse a block size outside [16, 8192] frames or a render-ahead depth outside [1, 64]
    blocks (:class:`ParameterError` naming the value)."""
    if not isinstance(block_size, (int, np.integer)) or not 16 <= block_size <= 8192:
        raise ParameterError(f"block_size = {block_size!r} is out of range; allowed [16, 8192]")
    if not isinstance(ahead_blocks, (int, np.integer)) or not 1 <= ahead_blocks <= 64:
        raise ParameterError(f"ahead_blocks = {ahead_blocks!r} is out of range; allowed [1, 64]")


class AudioCore:
    """Plays an atom set in real time and takes live edits (see the module).

    Parameters
    ----------
    atom_set : AtomSet
    sample_rate : int
        Output rate in Hz (MDCT atoms of a set at another rate are resampled).
    block_size : int
        Frames per block, 16 to 8192 (the PortAudio block size and the render block).
    device : int, str or None
        Output device index, or a substring of its name; None for the default output.
    latency : str or float
        PortAudio latency ("low", "high" or seconds).
    output : bool
        False: no audio device at all; rendering only through :meth:`render_offline`.
    ahead_blocks : int
        Blocks rendered ahead of the callback (the ring's size).
    effects : EffectsBridge, optional
        The room / insert chain; default: rooms of the set's ``room_names``.
    freeze_gc : bool
        ``gc.freeze()`` when the stream starts, so full garbage collections by other threads
        stay short (they hold the GIL the render thread needs).
    """

    def __init__(self, atom_set: AtomSet, *, sample_rate: int = 48000, block_size: int = 256,
                 device: int | str | None = None, latency: str | float = "low",
                 output: bool = True, ahead_blocks: int = 4,
                 effects: EffectsBridge | None = None, freeze_gc: bool = True) -> None:
        check_stream_options(block_size=block_size, ahead_blocks=ahead_blocks)
        self.block_size = int(block_size)
        self.freeze_gc = bool(freeze_gc)
        self.max_batch = max(1, int(ahead_blocks) // 2)
        self._synth = StreamingSynth(atom_set, sample_rate=sample_rate, max_block=8192,
                                     n_rooms=ROOM_BUSES)
        self.sample_rate = self._synth.sample_rate
        self.channels = atom_set.channels
        self.atom_set = atom_set
        self.output = bool(output)
        self.latency = latency
        self.device_index: int | None = resolve_output_device(device) if self.output else None
        self.effects = effects if effects is not None else EffectsBridge(
            sample_rate=self.sample_rate, channels=self.channels,
            room_names=atom_set.room_names)
        # edits and controls to replay for offline renders
        self._edits = EditQueue(MAX_EDITS)
        self.controls = Controls()
        self.edits_refused = 0
        # transport
        self._playing = False
        self._rendering = False  # the render thread advances the synth
        self._loop: tuple[float, float] | None = None
        self._position_s = 0.0
        # ring of ready blocks, shared with the C callback
        n = int(ahead_blocks)
        self._depth = n
        self._buf = P.make_ring(n, self.block_size, self.channels)
        self._ring = self._buf[P.HDR:].reshape(n, self.block_size, self.channels)
        self._ring_pos = np.zeros(n)
        self._ring_level = np.zeros((n, self.channels))
        self._w = 0
        self._cb_load_peak = 0.0
        self._load = 0.0
        self._load_peak = 0.0
        self._atoms_playing = 0
        self._stream = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._started = False
        self._switch = None

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> AudioCore:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warm(self) -> None:
        """Compile / load every Numba kernel, run one block of a throwaway synth, and run the
        effects once (JUCE's convolution prepares itself on its first block: several blocks'
        worth of time that must not fall into playback)."""
        K.warm_kernels()
        if self.effects.active:
            silent = np.zeros((1 + self._synth.n_rooms, self.channels, self.block_size))
            self.effects.process(silent)
            self.effects.reset()
        tiny = AtomSet(sample_rate=self.sample_rate, channels=self.channels,
                       resonant=ResonantAtoms(onset_s=[0.0, 0.001], t60_s=0.01, room=-1),
                       duration_s=0.01)
        s = StreamingSynth(tiny, sample_rate=self.sample_rate, max_block=8192,
                           n_rooms=self._synth.n_rooms)
        s.set_macro("pitch", 1.01)
        s.render(self.block_size)
        s.render(3)

    def start(self) -> None:
        """Warm the kernels, start the render-ahead thread and open the output stream."""
        if self._started:
            return
        self.warm()
        if self.freeze_gc:
            # Everything alive now (modules, kernels, the set) leaves the collector's view, so
            # a later full collection scans only new objects: short GIL pauses.
            gc.collect()
            gc.freeze()
        self._started = True
        if not self.output:
            return
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch, 0.0005))
        self._stop.clear()
        self._thread = threading.Thread(target=self._render_loop, name="atomsynth-render",
                                        daemon=True)
        self._thread.start()
        try:
            self._stream = P.CallbackStream(self._buf, device=self.device_index,
                                            sample_rate=self.sample_rate, latency=self.latency)
            self._stream.start()
        except Exception as exc:  # PortAudioError and friends
            self._stop.set()
            self._thread.join()
            self._started = False
            raise AudioDeviceError(f"cannot open output device {self.device_index}: {exc}; "
                                   + device_list_text(list_output_devices())) from None

    def stop(self) -> None:
        """Stop the transport (fade out) and return to the start."""
        self.pause()
        self.seek(0.0)

    def close(self) -> None:
        """Close the stream and the render thread."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5.0)
            self._thread = None
        if self._switch is not None:
            sys.setswitchinterval(self._switch)
            self._switch = None
        self._started = False

    # ------------------------------------------------------------------ transport
    def _push(self, fn: Callable[[], None], key: Any = None) -> None:
        """Queue an edit for the render thread; keyed edits coalesce (newest value wins)."""
        if not self._edits.push(fn, key):
            self.edits_refused += 1
            return
        if not self.output:
            self._drain()

    def _set_rendering(self, on: bool) -> None:
        self._rendering = on
        self._buf[P.H_RENDERING] = 1.0 if on else 0.0

    def play(self) -> None:
        if not self._rendering:
            self._buf[P.H_PRIMED] = 0.0
        self._playing = True
        self._set_rendering(True)
        self._push(self._synth.prepare_gate(True), key=("gate",))

    def pause(self) -> None:
        self._playing = False
        self._push(self._synth.prepare_gate(False), key=("gate",))

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def callbacks(self) -> int:
        """Audio callbacks so far (it advances every block while the stream runs, playing or
        not; a stalled count means the device is gone)."""
        return int(self._buf[P.H_CALLS])

    @property
    def stream_open(self) -> bool:
        return self._stream is not None

    @property
    def rendering(self) -> bool:
        """True while the render thread advances the synth (playing, or fading out)."""
        return self._rendering

    def seek(self, seconds: float) -> None:
        fn = self._synth.prepare_seek(seconds)
        self._position_s = float(seconds)
        self._push(fn)

    def set_loop(self, start_s: float | None, end_s: float | None = None) -> None:
        fn = self._synth.prepare_loop(start_s, end_s)
        self._loop = None if start_s is None else (float(start_s), float(end_s))
        self._push(fn)

    @property
    def position_s(self) -> float:
        """Score position of the block now playing (or where the transport rests), seconds."""
        last = int(self._buf[P.H_LAST])
        if self.output and self._rendering and last >= 0:
            return float(self._ring_pos[last])
        return self._position_s

    # ------------------------------------------------------------------ edits
    def set_atom_set(self, atom_set: AtomSet) -> None:
        """Play ``atom_set`` from the current position; rooms of new names are loaded here (the
        control thread) and swapped in at the next block (the stream stays open)."""
        fn = self._synth.prepare_atom_set(atom_set)
        if [r.name for r in self.effects.rooms] != list(atom_set.room_names):
            self.effects.set_rooms(atom_set.room_names)
        self.atom_set = atom_set
        self.controls.atom_edits.clear()
        self._push(fn)

    def set_macro(self, name: str, value: float) -> None:
        fn = self._synth.prepare_macro(name, value)
        self.controls.macros[name] = float(value)
        self._push(fn, key=("macro", name))

    def set_group(self, group: int, *, gain_db: float | None = None, pan: float | None = None,
                  mute: bool | None = None, solo: bool | None = None,
                  room_send: float | None = None) -> None:
        kw = {k: v for k, v in dict(gain_db=gain_db, pan=pan, mute=mute, solo=solo,
                                    room_send=room_send).items() if v is not None}
        fn = self._synth.prepare_group(group, **kw)
        self.controls.groups.setdefault(int(group), {}).update(kw)
        self._push(fn, key=("group", int(group), tuple(sorted(kw))))

    def set_atoms(self, indices: Sequence[int] | np.ndarray, **params: Any) -> None:
        fn = self._synth.prepare_atoms(indices, **params)
        self.controls.atom_edits.append((np.atleast_1d(np.asarray(indices)).copy(), dict(params)))
        self._push(fn)

    # ------------------------------------------------------------------ render thread
    def _drain(self) -> None:
        synth = self._synth
        self._edits.drain(synth.schedule)

    def _render_one(self, nblocks: int = 1) -> None:
        """Render ``nblocks`` blocks in one pass (fewer GIL hand-overs) into the ring."""
        synth = self._synth
        self._drain()
        t0 = time.perf_counter()
        B = self.block_size
        pos = synth.position_s
        step = B / self.sample_rate
        buses = synth.render(B * nblocks)
        mix = self.effects.process(buses) if self.effects.active else buses[0]
        for k in range(nblocks):
            slot = (self._w + k) % self._depth
            part = mix[:, k * B : (k + 1) * B]
            self._ring[slot] = part.T
            self._ring_level[slot] = np.abs(part).max(axis=1)
            self._ring_pos[slot] = pos + k * step
        self._atoms_playing = synth.atoms_playing
        self._w += nblocks
        self._buf[P.H_W] = self._w  # publish the blocks to the callback
        load = (time.perf_counter() - t0) * self.sample_rate / (B * nblocks)
        self._load = 0.9 * self._load + 0.1 * load
        self._load_peak = max(self._load_peak, load)
        if self._stream is not None:
            self._cb_load_peak = max(self._cb_load_peak, self._stream.cpu_load)
        if not self._playing and synth.silent:
            self._position_s = synth.position_s
            self._set_rendering(False)
            self._buf[P.H_PRIMED] = 1.0  # let the callback drain what is left
        elif self._playing and self._loop is None and synth.finished:
            self._position_s = synth.position_s
            self._playing = False
            self._set_rendering(False)
            self._buf[P.H_PRIMED] = 1.0

    def _raise_priority(self) -> None:
        """Ask for real-time scheduling of the render thread (Linux; silently not granted
        without the rights: rtprio limit, CAP_SYS_NICE or root)."""
        self.render_priority = "normal"
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RENDER_RT_PRIORITY))
            self.render_priority = f"SCHED_FIFO {RENDER_RT_PRIORITY}"
        except (AttributeError, OSError):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -10)
                self.render_priority = "nice -10"
            except (AttributeError, OSError):
                pass

    def _render_loop(self) -> None:
        self._raise_priority()
        period = self.block_size / self.sample_rate
        depth = self._depth
        buf = self._buf
        while not self._stop.is_set():
            if not self._rendering:
                self._drain()
                time.sleep(period / 4)
                continue
            free = depth - (self._w - int(buf[P.H_R]))
            if free <= 0:
                buf[P.H_PRIMED] = 1.0
                time.sleep(period / 4)
                continue
            self._render_one(min(free, max(1, 8192 // self.block_size), self.max_batch))

    # ------------------------------------------------------------------ status
    def stats(self) -> dict[str, Any]:
        """Counters and meters (safe to call from any thread)."""
        lat = self.block_size * self._depth / self.sample_rate
        if self._stream is not None:
            lat += float(self._stream.latency)
        buf = self._buf
        last = int(buf[P.H_LAST])
        levels = self._ring_level[last] if last >= 0 and self._rendering else np.zeros(
            self.channels)
        misses, pa_under = int(buf[P.H_MISSES]), int(buf[P.H_PA_UNDER])
        with np.errstate(divide="ignore"):
            levels_db = [float(x) for x in 20.0 * np.log10(np.maximum(levels, 1e-12))]
        return {
            "cpu_load": float(self._load),
            "cpu_load_peak": float(self._load_peak),
            "callback_load_peak": float(self._cb_load_peak),  # PortAudio's measure
            "portaudio_cpu_load": float(self._stream.cpu_load) if self._stream else 0.0,
            "underflows": misses + pa_under,
            "ring_misses": misses,
            "portaudio_underflows": pa_under,
            "callbacks": int(buf[P.H_CALLS]),
            "first_miss_callback": int(buf[P.H_FIRST_MISS]),
            "last_miss_callback": int(buf[P.H_LAST_MISS]),
            "atoms_playing": int(self._atoms_playing),
            "sample_rate": self.sample_rate,
            "block_size": self.block_size,
            "latency_s": lat,
            "levels_db": levels_db,
            "position_s": self.position_s,
            "edits_refused": int(self.edits_refused),
            "edits_coalesced": int(self._edits.coalesced),
            "edit_errors": list(self._synth.edit_errors),
            "render_priority": getattr(self, "render_priority", "not started"),
        }

    # ------------------------------------------------------------------ offline
    @property
    def n_rooms(self) -> int:
        """Room buses of the synthesizer (at least the set's rooms)."""
        return self._synth.n_rooms

    def render_offline(self, *, duration_s: float | None = None,
                       progress: Progress | None = None) -> np.ndarray:
        """Render the current set with the current controls and effects from the start.

        The same synthesizer and effects code as live playback (synthesizer output does not
        depend on the block size: 8192-frame blocks when no effect is active, else the
        engine's ``block_size`` so that effects see the blocks they see live);
        tails of rooms and plugins are rendered only as far as ``duration_s`` (default: the
        set's length). Returns float64, shape (channels, samples).
        """
        fx = self.effects.clone()
        block = self.block_size if fx.active else 8192
        mix = render_with_controls(self.atom_set, sample_rate=self.sample_rate,
                                   controls=self.controls, effects=fx, n_rooms=self.n_rooms,
                                   duration_s=duration_s, block=block, progress=progress)
        if not self.output:
            self._position_s = mix.shape[1] / self.sample_rate
        return mix


__all__ = ["AudioCore", "render_through"]
