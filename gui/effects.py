"""The effects the app manages: a room (convolution reverb send) and an insert chain.

Rooms are the bundled impulse responses (``presets/rooms/*.flac|*.wav``) and every audio file
found in the folders (or files) listed in the ``IMPULSE_RESPONSE_PATH`` environment variable
(separated by ``os.pathsep``). The insert chain holds pedalboard's built-in effects and VST3
plugins loaded from files, each with its parameters described by :class:`EffectParam` so the
panel can draw one slider per parameter.

:meth:`EffectsChain.process` runs the chain on a rendered mix (offline); the engine's
pedalboard bridge runs the same plugins live.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from atomsynth.rt.errors import EffectError, ParameterError
from atomsynth.rt.presets import data_dir

AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg")


@dataclass(frozen=True)
class EffectParam:
    """One slider: attribute name, range and unit (``raw`` True: VST3 normalized 0..1 value)."""

    name: str
    lo: float
    hi: float
    unit: str = ""
    raw: bool = False


# Built-in pedalboard effects offered in the panel, with the ranges of their sliders.
BUILTIN_EFFECTS: dict[str, tuple[EffectParam, ...]] = {
    "Reverb": (EffectParam("room_size", 0, 1), EffectParam("damping", 0, 1),
               EffectParam("wet_level", 0, 1), EffectParam("dry_level", 0, 1),
               EffectParam("width", 0, 1)),
    "Delay": (EffectParam("delay_seconds", 0, 2, "s"), EffectParam("feedback", 0, 0.95),
              EffectParam("mix", 0, 1)),
    "Chorus": (EffectParam("rate_hz", 0.01, 20, "Hz"), EffectParam("depth", 0, 1),
               EffectParam("centre_delay_ms", 1, 50, "ms"), EffectParam("feedback", -0.95, 0.95),
               EffectParam("mix", 0, 1)),
    "Phaser": (EffectParam("rate_hz", 0.01, 20, "Hz"), EffectParam("depth", 0, 1),
               EffectParam("centre_frequency_hz", 50, 10000, "Hz"),
               EffectParam("feedback", -0.95, 0.95), EffectParam("mix", 0, 1)),
    "Compressor": (EffectParam("threshold_db", -60, 0, "dB"), EffectParam("ratio", 1, 20),
                   EffectParam("attack_ms", 0.1, 100, "ms"),
                   EffectParam("release_ms", 1, 1000, "ms")),
    "Limiter": (EffectParam("threshold_db", -30, 0, "dB"),
                EffectParam("release_ms", 1, 1000, "ms")),
    "Distortion": (EffectParam("drive_db", 0, 60, "dB"),),
    "Gain": (EffectParam("gain_db", -60, 24, "dB"),),
    "HighpassFilter": (EffectParam("cutoff_frequency_hz", 10, 10000, "Hz"),),
    "LowpassFilter": (EffectParam("cutoff_frequency_hz", 100, 20000, "Hz"),),
    "LadderFilter": (EffectParam("cutoff_hz", 20, 20000, "Hz"), EffectParam("resonance", 0, 1),
                     EffectParam("drive", 1, 10)),
    "Bitcrush": (EffectParam("bit_depth", 1, 32, "bits"),),
}


def room_files() -> dict[str, Path]:
    """Available rooms by display name: bundled ones, then ``IMPULSE_RESPONSE_PATH`` ones."""
    out: dict[str, Path] = {}
    bundled = data_dir() / "rooms"
    if bundled.is_dir():
        for p in sorted(bundled.iterdir()):
            if p.suffix.lower() in AUDIO_SUFFIXES:
                out[p.stem] = p
    for entry in os.environ.get("IMPULSE_RESPONSE_PATH", "").split(os.pathsep):
        if not entry:
            continue
        path = Path(entry).expanduser()
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for p in files:
            if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES:
                name = p.stem if p.stem not in out else f"{p.stem} ({p.parent.name})"
                out[name] = p
    return out


@dataclass
class Effect:
    """One insert: a pedalboard plugin object and its sliders."""

    name: str
    plugin: object
    params: tuple[EffectParam, ...]
    path: Path | None = None

    def get(self, p: EffectParam) -> float:
        if p.raw:
            return float(self.plugin.parameters[p.name].raw_value)
        return float(getattr(self.plugin, p.name))

    def set(self, p: EffectParam, value: float) -> None:
        value = float(np.clip(value, p.lo, p.hi))
        try:
            if p.raw:
                self.plugin.parameters[p.name].raw_value = value
            else:
                setattr(self.plugin, p.name, value)
        except Exception as exc:  # noqa: BLE001 - plugins raise anything
            raise EffectError(f"{self.name}: cannot set {p.name} = {value} ({exc})") from None


def make_builtin(name: str) -> Effect:
    """A new built-in pedalboard effect by class name (see :data:`BUILTIN_EFFECTS`)."""
    if name not in BUILTIN_EFFECTS:
        raise ParameterError(f"effect {name!r} unknown; choose one of {sorted(BUILTIN_EFFECTS)}")
    import pedalboard

    return Effect(name, getattr(pedalboard, name)(), BUILTIN_EFFECTS[name])


def load_vst3(path: str | os.PathLike) -> Effect:
    """Load a VST3 plugin from a file or bundle; failures raise :class:`EffectError`."""
    import pedalboard

    path = Path(path)
    if not path.exists():
        raise EffectError(f"{path}: no such plugin file")
    try:
        plugin = pedalboard.load_plugin(str(path))
    except Exception as exc:  # noqa: BLE001 - pedalboard raises ImportError/RuntimeError/...
        raise EffectError(f"{path}: could not load the plugin ({exc})") from None
    params = tuple(EffectParam(k, 0.0, 1.0, raw=True)
                   for k in list(getattr(plugin, "parameters", {}))[:64])
    return Effect(path.stem, plugin, params, path)


@dataclass
class EffectsChain:
    """Room and insert effects of the session (not stored in the .atoms file)."""

    room: str | None = None
    room_send: float = 0.25
    inserts: list[Effect] = field(default_factory=list)

    def move(self, index: int, delta: int) -> None:
        j = index + delta
        if 0 <= index < len(self.inserts) and 0 <= j < len(self.inserts):
            self.inserts[index], self.inserts[j] = self.inserts[j], self.inserts[index]

    def process(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """Apply the room send and the inserts to a (channels, samples) mix, offline."""
        import pedalboard

        out = np.asarray(audio, dtype=np.float32)
        if self.room and self.room_send > 0:
            rooms = room_files()
            if self.room not in rooms:
                raise EffectError(f"room {self.room!r} not found; known: {sorted(rooms)}")
            try:
                conv = pedalboard.Convolution(str(rooms[self.room]), mix=1.0)
                wet = conv(out, sample_rate)
            except Exception as exc:  # noqa: BLE001
                raise EffectError(f"room {self.room!r}: {exc}") from None
            out = out + np.float32(self.room_send) * wet
        if self.inserts:
            try:
                out = pedalboard.Pedalboard([e.plugin for e in self.inserts])(out, sample_rate)
            except Exception as exc:  # noqa: BLE001
                raise EffectError(f"insert chain failed: {exc}") from None
        return out.astype(np.float64)

    @property
    def active(self) -> bool:
        return bool(self.inserts) or (self.room is not None and self.room_send > 0)
