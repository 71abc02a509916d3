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
callers) and skipped; it never stops playback. Structural changes and parameter changes from
other threads are queued and applied at the start of the next :meth:`process` call.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from atomsynth.rt import fpenv
from atomsynth.rt.effect_ranges import check_effect_param
from atomsynth.rt.errors import EffectError
from atomsynth.rt.rooms import find_room_file

BUILTIN_EFFECTS = ("reverb", "delay", "chorus", "compressor", "gain", "highpass", "lowpass",
                   "limiter", "distortion", "phaser", "ladder")
"""Names accepted by :meth:`EffectsBridge.add_effect` (pedalboard classes)."""

_CLASS = {"reverb": "Reverb", "delay": "Delay", "chorus": "Chorus", "compressor": "Compressor",
          "gain": "Gain", "highpass": "HighpassFilter", "lowpass": "LowpassFilter",
          "limiter": "Limiter", "distortion": "Distortion", "phaser": "Phaser",
          "ladder": "LadderFilter"}
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
        self.rooms: list[Room] = []
        self.inserts: list[Insert] = []
        self._queue: deque = deque()
        self._scratch: np.ndarray | None = None
        self.set_rooms(room_names)

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

    def set_rooms(self, room_names: Sequence[str]) -> None:
        """(Re)load the room buses for ``room_names`` (call before streaming starts)."""
        self.rooms = [self._load_room(str(n)) for n in room_names]

    def set_room_file(self, name: str, path: str | os.PathLike) -> bool:
        """Use the impulse response in ``path`` for room ``name``; False (reported) on failure.

        Loading happens in the calling thread; the swap happens at the next block.
        """
        self.room_files[name] = str(path)
        room = self._load_room(name)
        if room.ir is None:
            return False
        self._queue.append(("room", name, room))
        return True

    # ------------------------------------------------------------------ inserts
    def add_effect(self, kind: str, **params: float) -> int | None:
        """Append a built-in pedalboard effect (:data:`BUILTIN_EFFECTS`) with parameters.

        Returns its insert index, or None (reported in ``errors``) if it cannot be made.
        """
        import pedalboard

        if kind not in _CLASS:
            self.errors.append(f"effect {kind!r} is unknown; known: {list(BUILTIN_EFFECTS)}")
            return None
        try:
            proc = getattr(pedalboard, _CLASS[kind])()
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
                    plugin_name: str | None = None) -> int | None:
        """Host a VST3 (or AU) plugin; returns its insert index or None if it failed (reported)."""
        import pedalboard

        try:
            if not Path(path).exists():
                raise EffectError("no such file")
            with fpenv.preserved():
                proc = pedalboard.load_plugin(str(path), plugin_name=plugin_name)
                for k, v in (params or {}).items():
                    _set_plugin_param(proc, k, v)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must never be fatal
            self.errors.append(f"plugin {path}: cannot load ({str(exc).strip()}); skipped")
            return None
        name = getattr(proc, "name", None) or Path(path).stem
        return self._append(Insert(str(name), "plugin", str(path), proc))

    def _append(self, ins: Insert) -> int:
        index = len(self.inserts) + sum(1 for q in self._queue if q[0] == "insert")
        self._queue.append(("insert", ins))
        return index

    def remove_insert(self, index: int) -> None:
        self._queue.append(("remove", int(index)))

    def parameters(self, index: int) -> dict[str, Any]:
        """The named parameters of insert ``index`` and their current values."""
        proc = self._insert(index).processor
        if hasattr(proc, "parameters"):
            return {k: getattr(proc, k) for k in proc.parameters}
        names = [k for k in dir(proc) if not k.startswith("_")
                 and isinstance(getattr(type(proc), k, None), property)]
        return {k: getattr(proc, k) for k in names}

    def set_param(self, index: int, name: str, value: Any) -> None:
        """Set parameter ``name`` of insert ``index`` (validated now, applied at the next block)."""
        proc = self._insert(index).processor
        if not hasattr(proc, name):
            known = list(self.parameters(index))
            raise EffectError(f"insert {index} ({self.inserts[index].name}) has no parameter "
                              f"{name!r}; known: {known}")
        if self.inserts[index].kind != "plugin":
            try:
                check_effect_param(self.inserts[index].kind, name, value, self.sample_rate)
            except EffectError as exc:
                raise EffectError(f"insert {index} ({self.inserts[index].name}): {exc}") from None
        if len(self._queue) >= MAX_QUEUE:
            raise EffectError("too many pending effect changes")
        self._queue.append(("param", index, name, value))

    def _insert(self, index: int) -> Insert:
        self._apply_queue()  # structural changes queued before streaming
        if not 0 <= index < len(self.inserts):
            raise EffectError(f"insert index {index} is out of range; "
                              f"allowed [0, {len(self.inserts) - 1}]")
        return self.inserts[index]

    def _apply_queue(self) -> None:
        while self._queue:
            item = self._queue.popleft()
            kind = item[0]
            if kind == "insert":
                self.inserts.append(item[1])
            elif kind == "remove":
                if 0 <= item[1] < len(self.inserts):
                    self.inserts.pop(item[1])
            elif kind == "param":
                _, index, name, value = item
                if 0 <= index < len(self.inserts):
                    try:
                        _set_plugin_param(self.inserts[index].processor, name, value)
                    except Exception as exc:  # noqa: BLE001
                        self.errors.append(f"insert {index}: {name} = {value!r} failed ({exc})")
            elif kind == "room":
                _, name, room = item
                for i, r in enumerate(self.rooms):
                    if r.name == name:
                        self.rooms[i] = room

    # ------------------------------------------------------------------ processing
    @property
    def active(self) -> bool:
        """True if anything would change the dry bus (a loaded room or an insert)."""
        return bool(self.inserts or self._queue) or any(r.ir is not None for r in self.rooms)

    def process(self, buses: np.ndarray) -> np.ndarray:
        """Mix one block of buses ``(1 + rooms, channels, n)`` to ``(channels, n)`` float64."""
        self._apply_queue()
        mix = np.array(buses[0], dtype=np.float64)
        sr = float(self.sample_rate)
        for r, room in enumerate(self.rooms):
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
        """Clear every tail (reverb state, plugin state)."""
        self._apply_queue()
        for room in self.rooms:
            for conv in room.convs:
                conv.reset()
        with fpenv.preserved():
            for ins in self.inserts:
                ins.processor.reset()

    def clone(self) -> EffectsBridge:
        """A fresh bridge with the same rooms, inserts and parameter values (tails cleared)."""
        self._apply_queue()
        new = EffectsBridge(sample_rate=self.sample_rate, channels=self.channels,
                            room_names=(), room_files=self.room_files)
        for room in self.rooms:
            if room.ir is None:
                new.rooms.append(Room(room.name, room.source, None))
            else:
                convs, comps = _make_convs(room.ir, self.channels, self.sample_rate)
                new.rooms.append(Room(room.name, room.source, room.ir, convs, comps))
        for ins in self.inserts:
            if ins.kind == "plugin":
                params = {}
                proc = ins.processor
                for k in getattr(proc, "parameters", {}):
                    params[k] = proc.parameters[k].raw_value
                idx = new.load_plugin(ins.path)
                if idx is not None:
                    new._apply_queue()
                    p2 = new.inserts[idx].processor
                    for k, raw in params.items():
                        p2.parameters[k].raw_value = raw
            else:
                import pedalboard

                proc = getattr(pedalboard, _CLASS[ins.kind])()
                for k, v in self.parameters(self.inserts.index(ins)).items():
                    if isinstance(v, (int, float, bool)):
                        try:
                            setattr(proc, k, v)
                        except (AttributeError, TypeError, ValueError):
                            pass  # read-only property
                new._append(Insert(ins.name, ins.kind, None, proc))
        new._apply_queue()
        new.errors = list(self.errors)
        return new

    def describe(self) -> list[str]:
        """One line per room and insert (for status output)."""
        self._apply_queue()
        lines = [f"room {i} {r.name!r}: {r.source}" + ("" if r.ir is not None else " (skipped)")
                 for i, r in enumerate(self.rooms)]
        lines += [f"insert {i}: {ins.name} ({ins.kind})" for i, ins in enumerate(self.inserts)]
        return lines


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


__all__ = ["BUILTIN_EFFECTS", "EffectsBridge"]
