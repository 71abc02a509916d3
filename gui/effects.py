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

from atomsynth.rt.effects import EFFECT_KINDS, EffectParam, effect_kind, plugin_raw_state
from atomsynth.rt.errors import EffectError, ParameterError


def room_files() -> dict[str, Path]:
    """Available rooms by name: ``IMPULSE_RESPONSE_PATH`` files, then the bundled rooms
    (the engine finds a room's impulse response by the same name)."""
    from atomsynth.rt.rooms import available_rooms

    return dict(sorted(available_rooms().items()))


@dataclass
class Effect:
    """One insert: a pedalboard plugin object and its sliders."""

    name: str
    plugin: object
    params: tuple[EffectParam, ...]
    path: Path | None = None

    @property
    def kind(self) -> str:
        """The engine bridge's name for it: a built-in kind or "plugin"."""
        return "plugin" if self.path is not None else effect_kind(self.name).name

    def values(self) -> dict[str, float]:
        """Current parameter values in the plugin's own units (by attribute name)."""
        out = {}
        for p in self.params:
            try:
                out[p.name] = getattr(self.plugin, p.name)
            except Exception:  # noqa: BLE001 - a plugin may refuse to report a value
                continue
        return out

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


def builtin_names() -> list[str]:
    """The built-in effects by pedalboard class name, sorted (what the panel offers)."""
    return sorted(k.class_name for k in EFFECT_KINDS.values())


def make_builtin(name: str) -> Effect:
    """A new built-in pedalboard effect by class name (see :data:`EFFECT_KINDS`)."""
    kind = effect_kind(name)
    if kind is None or kind.class_name != name:
        raise ParameterError(f"effect {name!r} unknown; choose one of {builtin_names()}")
    import pedalboard

    return Effect(name, getattr(pedalboard, name)(), kind.params)


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
    """The insert effects of the session (not stored in the .atoms file).

    Rooms are part of the atoms (``room_names``, each atom's ``room`` and ``wet``) and are
    rendered by the engine's bridge.
    """

    inserts: list[Effect] = field(default_factory=list)
    engine_inserts: int = 0  # how many inserts the engine's bridge holds from us

    def move(self, index: int, delta: int) -> None:
        j = index + delta
        if 0 <= index < len(self.inserts) and 0 <= j < len(self.inserts):
            self.inserts[index], self.inserts[j] = self.inserts[j], self.inserts[index]

    def sync_to(self, bridge) -> None:
        """Make the engine's :class:`EffectsBridge` insert chain equal to ours (rebuilt in
        order through its queue, so the audio thread picks it up at the next block)."""
        for _ in range(self.engine_inserts):
            bridge.remove_insert(0)
        self.engine_inserts = 0
        for e in self.inserts:
            if e.kind == "plugin":
                # its saved state (exact parameter values and anything else it stores); the
                # named values only where it has none (pedalboard snaps them to a grid)
                state = plugin_raw_state(e.plugin, flush=True)  # our copy: no render thread
                idx = (bridge.load_plugin(e.path, state=state) if state
                       else bridge.load_plugin(e.path, params=e.values()))
            else:
                idx = bridge.add_effect(e.kind, **e.values())
            if idx is None:
                raise EffectError(bridge.errors[-1] if bridge.errors else f"{e.name}: failed")
            self.engine_inserts += 1

    def process(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """Apply the inserts to a (channels, samples) mix, offline (used without an engine)."""
        import pedalboard

        out = np.asarray(audio, dtype=np.float32)
        if self.inserts:
            try:
                out = pedalboard.Pedalboard([e.plugin for e in self.inserts])(out, sample_rate)
            except Exception as exc:  # noqa: BLE001
                raise EffectError(f"insert chain failed: {exc}") from None
        return out.astype(np.float64)

    @property
    def active(self) -> bool:
        return bool(self.inserts)
