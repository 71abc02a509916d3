"""The pedalboard bridge: room reverb buses and an insert chain, streamed with ``reset=False``.

:class:`EffectsBridge.process` takes the synthesizer's buses ``(1 + rooms, channels, n)``
(bus 0 dry, bus ``r + 1`` the send to room ``r``) and returns the mix ``(channels, n)``:

    mix = inserts( dry + sum_r convolve(send_r, IR_r) )

Each room is one ``pedalboard.Convolution`` per output channel (channel ``c`` uses IR channel
``c mod ir_channels``), compensated for JUCE's impulse-response normalization so that the IR
file's samples *are* the filter. The insert chain holds any pedalboard effects and hosted
VST3 / AU plugins (``pedalboard.load_plugin``) with their parameters exposed by name. All
processing is done with ``reset=False``, so reverb tails and plugin state carry across blocks;
the same bridge runs live (engine) and offline (``atomsynth render``), block by block, so the
two outputs match.

A room or plugin that fails to load is reported (``errors``, and a warning on stderr by the
callers) and skipped; it never stops playback. Changes (inserts added or removed, parameters,
a reset) are queued as closures and run only at the start of :meth:`process`, on the render
thread, so the chain it iterates is never changed by another thread.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from atomsynth.rt import fpenv
from atomsynth.rt.effect_ranges import check_effect_param
from atomsynth.rt.errors import EffectError
from atomsynth.rt.rooms import find_room_file


@dataclass(frozen=True)
class EffectParam:
    """One parameter of an effect, as a slider: attribute name, range and unit.

    ``raw`` is True for a hosted plugin's parameter, set by its normalized value in [0, 1].
    """

    name: str
    lo: float
    hi: float
    unit: str = ""
    raw: bool = False


@dataclass(frozen=True)
class EffectKind:
    """A built-in pedalboard effect: the bridge's name for it, pedalboard's class and the
    parameters the app offers (with slider ranges)."""

    name: str
    class_name: str
    params: tuple[EffectParam, ...]


_P = EffectParam
EFFECT_KINDS: dict[str, EffectKind] = {k.name: k for k in (
    EffectKind("reverb", "Reverb", (_P("room_size", 0, 1), _P("damping", 0, 1),
                                    _P("wet_level", 0, 1), _P("dry_level", 0, 1),
                                    _P("width", 0, 1))),
    EffectKind("delay", "Delay", (_P("delay_seconds", 0, 2, "s"), _P("feedback", 0, 0.95),
                                  _P("mix", 0, 1))),
    EffectKind("chorus", "Chorus", (_P("rate_hz", 0.01, 20, "Hz"), _P("depth", 0, 1),
                                    _P("centre_delay_ms", 1, 50, "ms"),
                                    _P("feedback", -0.95, 0.95), _P("mix", 0, 1))),
    EffectKind("compressor", "Compressor", (_P("threshold_db", -60, 0, "dB"), _P("ratio", 1, 20),
                                            _P("attack_ms", 0.1, 100, "ms"),
                                            _P("release_ms", 1, 1000, "ms"))),
    EffectKind("gain", "Gain", (_P("gain_db", -60, 24, "dB"),)),
    EffectKind("highpass", "HighpassFilter", (_P("cutoff_frequency_hz", 10, 10000, "Hz"),)),
    EffectKind("lowpass", "LowpassFilter", (_P("cutoff_frequency_hz", 100, 20000, "Hz"),)),
    EffectKind("limiter", "Limiter", (_P("threshold_db", -30, 0, "dB"),
                                      _P("release_ms", 1, 1000, "ms"))),
    EffectKind("distortion", "Distortion", (_P("drive_db", 0, 60, "dB"),)),
    EffectKind("phaser", "Phaser", (_P("rate_hz", 0.01, 20, "Hz"), _P("depth", 0, 1),
                                    _P("centre_frequency_hz", 50, 10000, "Hz"),
                                    _P("feedback", -0.95, 0.95), _P("mix", 0, 1))),
    EffectKind("ladder", "LadderFilter", (_P("cutoff_hz", 20, 20000, "Hz"), _P("resonance", 0, 1),
                                          _P("drive", 1, 10))),
)}
"""The built-in effects by the name :meth:`EffectsBridge.add_effect` takes (the one registry
that the bridge, the command line and the app's effects panel use)."""
del _P


def effect_kind(name: str) -> EffectKind | None:
    """The built-in effect called ``name`` (bridge name ``"reverb"`` or pedalboard class name
    ``"Reverb"``), or None."""
    if name in EFFECT_KINDS:
        return EFFECT_KINDS[name]
    return next((k for k in EFFECT_KINDS.values() if k.class_name == name), None)


MAX_QUEUE = 4096


@dataclass
class Room:
    """One room bus: its name, where its IR came from and the per-channel convolutions."""

    name: str
    source: str
    ir: np.ndarray | None  # (ir_channels, samples) float32 at the bridge's rate
    convs: list[Any] = field(default_factory=list)
    comp: list[float] = field(default_factory=list)


@dataclass
class Insert:
    """One insert effect: a display name, how it was made (for cloning) and the processor."""

    name: str
    kind: str  # builtin effect name or "plugin"
    path: str | None
    processor: Any
    requested: dict[str, Any] = field(default_factory=dict)
    """Parameter values the control thread has set (the processor takes them at the next
    block); the control thread alone reads and writes this."""
    placeholder_for: str | None = None
    """The path of a plugin left out (it crashed the audio server) whose place this unity gain
    holds; parameter changes meant for the plugin are dropped with a note."""


def _load_ir(path: Path, sample_rate: int) -> np.ndarray:
    from atomsynth.rt.audio_io import read_audio
    from atomsynth.rt.resample import resample

    ir, sr = read_audio(path)
    if ir.shape[1] == 0 or not np.isfinite(ir).all():
        raise EffectError(f"{path}: empty impulse response or NaN samples")
    if sr != sample_rate:
        ir = resample(ir, sr, sample_rate)
    return np.ascontiguousarray(ir, dtype=np.float32)


def _make_convs(ir: np.ndarray, channels: int, sample_rate: int) -> tuple[list, list]:
    import pedalboard

    convs, comps = [], []
    for c in range(channels):
        h = np.ascontiguousarray(ir[c % ir.shape[0]][None, :])
        conv = pedalboard.Convolution(h, sample_rate=float(sample_rate))
        n = min(h.shape[1], 4096)
        imp = np.zeros((1, n), np.float32)
        imp[0, 0] = 1.0
        resp = conv.process(imp, float(sample_rate), reset=True)[0].astype(np.float64)
        conv.reset()
        ref = h[0, :n].astype(np.float64)
        energy = float(ref @ ref)
        factor = float(resp @ ref) / energy if energy > 0 else 1.0
        if not math.isfinite(factor) or factor == 0.0:
            raise EffectError("convolution produced no output for this impulse response")
        convs.append(conv)
        comps.append(1.0 / factor)
    return convs, comps


class EffectsBridge:
    """Room buses plus an insert chain (see the module).

    Two threads use a bridge: the control thread, which builds it and changes it (the app's
    GUI thread, a command), and the render thread, which calls :meth:`process`. They share
    nothing that one of them changes while the other reads it: every change the control thread
    makes is a closure put on a queue, and only :meth:`process` runs the queue, before it
    touches the inserts or the rooms; a room's impulse response is loaded on the control thread
    (:meth:`set_room_file`) and swapped in by that queue. The control thread
    keeps its own view of the chain (the inserts as they will be once the queue has run), which
    :meth:`parameters`, :meth:`set_param`, :meth:`clone` and :meth:`describe` read.

    Parameters
    ----------
    sample_rate : int
    channels : int
    room_names : sequence of str
        The atom set's rooms; room ``r`` is looked up by name (:func:`find_room_file`).
    room_files : mapping of str to path, optional
        Explicit impulse responses by room name (override the search).
    """

    def __init__(self, *, sample_rate: int, channels: int, room_names: Sequence[str] = (),
                 room_files: dict[str, str | os.PathLike] | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.room_files = dict(room_files or {})
        self.errors: list[str] = []
        self.inserts: list[Insert] = []  # the render thread's chain: changed in process() only
        self._chain: list[Insert] = []  # the control thread's view of the chain
        self._pending: deque[Callable[[], None]] = deque()
        self.rooms: list[Room] = [self._load_room(str(n)) for n in room_names]
        """The control thread's view of the rooms (as they will be once the queue has run)."""
        self._render_rooms: list[Room] = list(self.rooms)  # changed in process() only

    # ------------------------------------------------------------------ rooms
    def _load_room(self, name: str) -> Room:
        path = find_room_file(name, extra=self.room_files)
        if path is None:
            msg = (f"room {name!r}: no impulse response found (looked in IMPULSE_RESPONSE_PATH "
                   "and presets/rooms); its sends are dropped")
            self.errors.append(msg)
            return Room(name, "missing", None)
        try:
            ir = _load_ir(path, self.sample_rate)
            convs, comps = _make_convs(ir, self.channels, self.sample_rate)
        except Exception as exc:  # noqa: BLE001 - any failure is reported, never fatal
            self.errors.append(f"room {name!r}: cannot load {path} ({exc}); its sends are dropped")
            return Room(name, str(path), None)
        return Room(name, str(path), ir, convs, comps)

    def _warm(self, room: Room) -> Room:
        """Run a new room's convolutions over a few blocks of silence here (JUCE's convolution
        prepares itself on its first blocks, which must not fall into playback), then clear
        them."""
        if room.ir is not None:
            silent = np.zeros((1, 256), np.float32)
            for conv in room.convs:
                for _ in range(4):
                    conv.process(silent, float(self.sample_rate), reset=False)
                conv.reset()
        return room

    def set_room_file(self, name: str, path: str | os.PathLike) -> bool:
        """Use the impulse response in ``path`` for room ``name``; False (reported) on failure.

        The file is read and the convolutions made here, on the control thread; the render
        thread swaps the new room in at its next :meth:`process`.
        """
        index = next((i for i, room in enumerate(self.rooms) if room.name == name), None)
        if index is None:
            self.errors.append(f"room {name!r} is not one of this set's rooms "
                               f"{[room.name for room in self.rooms]}")
            return False
        self.room_files[name] = str(path)
        room = self._load_room(name)
        if room.ir is None:
            return False
        self.rooms[index] = room

        def swap() -> None:
            self._render_rooms[index] = room

        self._pending.append(swap)
        return True

    def set_rooms(self, room_names: Sequence[str]) -> None:
        """Make the rooms ``room_names`` (in order: room ``r`` takes send bus ``r + 1``).

        Rooms already loaded are kept (with their tails); new names are loaded here, on the
        control thread; the render thread swaps the list in at its next :meth:`process`.
        """
        have = {room.name: room for room in self.rooms}
        rooms = [have.get(str(n)) or self._warm(self._load_room(str(n))) for n in room_names]
        self.rooms = rooms

        def swap() -> None:
            self._render_rooms = list(rooms)

        self._pending.append(swap)

    # ------------------------------------------------------------------ inserts
    def add_effect(self, kind: str, **params: float) -> int | None:
        """Append a built-in pedalboard effect (:data:`EFFECT_KINDS`) with parameters.

        Returns its insert index, or None (reported in ``errors``) if it cannot be made.
        """
        import pedalboard

        if kind not in EFFECT_KINDS:
            self.errors.append(f"effect {kind!r} is unknown; known: {list(EFFECT_KINDS)}")
            return None
        try:
            proc = getattr(pedalboard, EFFECT_KINDS[kind].class_name)()
            for k, v in params.items():
                if not hasattr(proc, k):
                    raise EffectError(f"{kind} has no parameter {k!r}")
                check_effect_param(kind, k, v, self.sample_rate)
                setattr(proc, k, v)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"effect {kind!r}: {exc}; skipped")
            return None
        return self._append(Insert(kind, kind, None, proc))

    def load_plugin(self, path: str | os.PathLike, *, params: dict[str, Any] | None = None,
                    plugin_name: str | None = None, state: bytes | None = None) -> int | None:
        """Host a VST3 (or AU) plugin; returns its insert index or None if it failed (reported).

        ``state`` (the plugin's saved ``raw_state`` blob) is given to it first; ``params`` are
        set after that, by name (strings parsed as :func:`_set_plugin_param` does); a value or
        state the plugin refuses is reported in ``errors`` and the plugin kept.
        """
        import pedalboard

        try:
            if not Path(path).exists():
                raise EffectError("no such file")
            with fpenv.preserved():
                proc = pedalboard.load_plugin(str(path), plugin_name=plugin_name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must never be fatal
            self.errors.append(f"plugin {path}: cannot load ({str(exc).strip()}); skipped")
            return None
        with fpenv.preserved():
            if state:
                try:
                    proc.raw_state = bytes(state)
                except Exception as exc:  # noqa: BLE001 - reported, never fatal
                    self.errors.append(f"plugin {path}: saved state refused ({exc})")
            for k, v in (params or {}).items():
                try:
                    _set_plugin_param(proc, k, v)
                except Exception as exc:  # noqa: BLE001 - reported, never fatal
                    self.errors.append(f"plugin {path}: {k} = {v!r} failed ({exc})")
        name = getattr(proc, "name", None) or Path(path).stem
        return self._append(Insert(str(name), "plugin", str(path), proc))

    def _append(self, ins: Insert) -> int:
        self._chain.append(ins)
        self._pending.append(lambda: self.inserts.append(ins))
        return len(self._chain) - 1

    def add_placeholder(self, path: str | os.PathLike) -> int:
        """A unity gain in the place of plugin ``path`` (left out), so that later inserts keep
        their indices; :meth:`set_param` calls meant for the plugin are dropped with a note."""
        import pedalboard

        self.errors.append(f"plugin {path}: left out after it crashed the audio server (a "
                           "unity gain holds its place)")
        return self._append(Insert("gain", "gain", None, pedalboard.Gain(gain_db=0.0),
                                   placeholder_for=str(path)))

    def is_placeholder(self, index: int) -> bool:
        """Insert ``index`` holds the place of a plugin that was left out."""
        return 0 <= index < len(self._chain) and self._chain[index].placeholder_for is not None

    def remove_insert(self, index: int) -> None:
        """Remove insert ``index`` (at the next block); an index out of range is ignored."""
        index = int(index)
        if 0 <= index < len(self._chain):
            self._chain.pop(index)

        def remove() -> None:
            if 0 <= index < len(self.inserts):
                self.inserts.pop(index)

        self._pending.append(remove)

    @property
    def chain(self) -> tuple[Insert, ...]:
        """The inserts as the control thread sees them (as they will be once the queue has
        run); the render thread's list is :attr:`inserts`."""
        return tuple(self._chain)

    def parameters(self, index: int) -> dict[str, Any]:
        """The named parameters of insert ``index`` and their current values."""
        return _processor_parameters(self._insert(index).processor)

    def set_param(self, index: int, name: str, value: Any) -> None:
        """Set parameter ``name`` of insert ``index`` (validated now, applied at the next block)."""
        ins = self._insert(index)
        if ins.placeholder_for is not None:
            self.errors.append(f"insert {index}: {name} = {value!r} dropped: it was meant for "
                               f"the plugin {ins.placeholder_for}, left out after it crashed "
                               "the audio server")
            return
        if not hasattr(ins.processor, name):
            known = list(self.parameters(index))
            raise EffectError(f"insert {index} ({ins.name}) has no parameter "
                              f"{name!r}; known: {known}")
        if ins.kind != "plugin":
            try:
                check_effect_param(ins.kind, name, value, self.sample_rate)
            except EffectError as exc:
                raise EffectError(f"insert {index} ({ins.name}): {exc}") from None
        if len(self._pending) >= MAX_QUEUE:
            raise EffectError("too many pending effect changes")
        ins.requested[name] = value

        def apply() -> None:
            try:
                _set_plugin_param(ins.processor, name, value)
            except Exception as exc:  # noqa: BLE001
                self.errors.append(f"insert {index}: {name} = {value!r} failed ({exc})")

        self._pending.append(apply)

    def processor(self, index: int) -> Any:
        """The pedalboard processor of insert ``index`` (the control thread's view: for
        loading state into a plugin before the render thread takes it)."""
        return self._insert(index).processor

    def _insert(self, index: int) -> Insert:
        if not 0 <= index < len(self._chain):
            raise EffectError(f"insert index {index} is out of range; "
                              f"allowed [0, {len(self._chain) - 1}]")
        return self._chain[index]

    # ------------------------------------------------------------------ processing
    @property
    def active(self) -> bool:
        """True if anything would change the dry bus (a loaded room or an insert), or changes
        are waiting for :meth:`process`."""
        return (bool(self._chain or self.inserts or self._pending)
                or any(r.ir is not None for r in self.rooms))

    def process(self, buses: np.ndarray) -> np.ndarray:
        """Mix one block of buses ``(1 + rooms, channels, n)`` to ``(channels, n)`` float64.

        Runs the queued changes first: call it from one thread (the render thread).
        """
        while self._pending:
            self._pending.popleft()()
        mix = np.array(buses[0], dtype=np.float64)
        sr = float(self.sample_rate)
        for r, room in enumerate(self._render_rooms):
            if room.ir is None or r + 1 >= buses.shape[0]:
                continue
            send = buses[r + 1]
            for c in range(self.channels):
                y = room.convs[c].process(send[c : c + 1].astype(np.float32), sr, reset=False)
                mix[c] += y[0] * room.comp[c]
        if self.inserts:
            x = mix.astype(np.float32)
            with fpenv.preserved():
                for ins in self.inserts:
                    x = ins.processor.process(x, sr, reset=False)
            mix = x.astype(np.float64)
        return mix

    def reset(self) -> None:
        """Clear every tail (reverb state, plugin state) before the next block is processed."""
        self._pending.append(self._clear_tails)

    def _clear_tails(self) -> None:
        for room in self._render_rooms:
            for conv in room.convs:
                conv.reset()
        with fpenv.preserved():
            for ins in self.inserts:
                ins.processor.reset()

    def clone(self) -> EffectsBridge:
        """A fresh bridge with the same rooms, inserts and parameter values (tails cleared).

        Call it on the control thread (hosted plugins are loaded on the calling thread)."""
        new = EffectsBridge(sample_rate=self.sample_rate, channels=self.channels,
                            room_names=(), room_files=self.room_files)
        for room in self.rooms:
            if room.ir is None:
                new.rooms.append(Room(room.name, room.source, None))
                new._render_rooms.append(new.rooms[-1])
            else:
                convs, comps = _make_convs(room.ir, self.channels, self.sample_rate)
                new.rooms.append(Room(room.name, room.source, room.ir, convs, comps))
                new._render_rooms.append(new.rooms[-1])
        for ins in self._chain:
            if ins.placeholder_for is not None:
                new._append(Insert("gain", "gain", None, type(ins.processor)(gain_db=0.0),
                                   placeholder_for=ins.placeholder_for))
            elif ins.kind == "plugin":
                proc = ins.processor
                raw = {k: proc.parameters[k].raw_value for k in getattr(proc, "parameters", {})}
                idx = new.load_plugin(ins.path, state=plugin_raw_state(proc))
                if idx is not None:
                    copy = new._chain[idx].processor  # not yet seen by any render thread
                    for k, value in raw.items():
                        copy.parameters[k].raw_value = value
                    _set_requested(new, copy, ins.requested)
            else:
                import pedalboard

                proc = getattr(pedalboard, EFFECT_KINDS[ins.kind].class_name)()
                for k, v in _processor_parameters(ins.processor).items():
                    if isinstance(v, (int, float, bool)):
                        try:
                            setattr(proc, k, v)
                        except (AttributeError, TypeError, ValueError):
                            pass  # read-only property
                _set_requested(new, proc, ins.requested)
                new._append(Insert(ins.name, ins.kind, None, proc))
        new.errors = list(self.errors)
        return new

    def describe(self) -> list[str]:
        """One line per room and insert (for status output)."""
        lines = [f"room {i} {r.name!r}: {r.source}" + ("" if r.ir is not None else " (skipped)")
                 for i, r in enumerate(self.rooms)]
        lines += [f"insert {i}: {ins.name} ({ins.kind})" for i, ins in enumerate(self._chain)]
        return lines


def plugin_raw_state(proc: Any, *, flush: bool = False) -> bytes | None:
    """A hosted plugin's saved state blob (``raw_state``), or None where it cannot save one.

    A VST3's state is its processor's: parameter changes reach it only when it processes
    audio, so a plugin that has not processed since a change reports the old values. With
    ``flush`` it first processes 32 frames of silence (then ``reset()``): only for a processor
    that no render thread uses (the app's own copy).
    """
    try:
        with fpenv.preserved():
            if flush:
                import numpy as np

                proc(np.zeros((2, 32), np.float32), 48000.0, reset=False)
                proc.reset()
            raw = proc.raw_state
    except Exception:  # noqa: BLE001 - not every plugin can save its state
        return None
    return bytes(raw) if raw else None


def _set_requested(bridge: EffectsBridge, proc: Any, requested: dict[str, Any]) -> None:
    """Give a copied processor the values set on the original that it may not have taken yet
    (no block has been processed since); failures are reported in the bridge's errors."""
    with fpenv.preserved():
        for k, v in requested.items():
            try:
                _set_plugin_param(proc, k, v)
            except Exception as exc:  # noqa: BLE001 - reported, never fatal
                bridge.errors.append(f"insert copy: {k} = {v!r} failed ({exc})")


def _processor_parameters(proc: Any) -> dict[str, Any]:
    """The named parameters of a pedalboard processor or hosted plugin and their values."""
    if hasattr(proc, "parameters"):
        return {k: getattr(proc, k) for k in proc.parameters}
    names = [k for k in dir(proc) if not k.startswith("_")
             and isinstance(getattr(type(proc), k, None), property)]
    return {k: getattr(proc, k) for k in names}


def _set_plugin_param(proc: Any, name: str, value: Any) -> None:
    """Set a parameter by name; strings are parsed the way pedalboard parses them."""
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "on", "yes"):
            value = True
        elif low in ("false", "off", "no"):
            value = False
        else:
            try:
                value = float(value)
            except ValueError:
                pass
    setattr(proc, name, value)


__all__ = ["EFFECT_KINDS", "EffectKind", "EffectParam", "EffectsBridge", "effect_kind",
           "plugin_raw_state"]
