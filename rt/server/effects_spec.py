"""An effects chain as plain data (JSON), so it can cross to the audio server without pickling.

A spec is ``{"rooms": [names], "room_files": {name: path}, "inserts": [insert, ...]}``; an
insert is ``{"kind": "reverb", "params": {...}}`` for a built-in pedalboard effect or
``{"kind": "plugin", "path": "...", "state": "<base64>", "raw": {name: raw_value}}`` for a
hosted plugin: ``state`` is its saved ``raw_state`` blob (what a session file stores; given
first, so a plugin with state beyond its parameters sounds the same in the server), then the
raw values in [0, 1], as the plugin stores them. Changes after that are small JSON operations
(:func:`apply_change`), the same calls as :class:`~atomsynth.rt.effects.EffectsBridge`'s.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from atomsynth.rt.effects import EffectsBridge, plugin_raw_state
from atomsynth.rt.errors import EffectError


def describe(bridge: EffectsBridge) -> dict[str, Any]:
    """The spec of ``bridge`` (its rooms, inserts and their current parameter values)."""
    inserts: list[dict[str, Any]] = []
    for i, ins in enumerate(bridge.chain):
        if ins.placeholder_for is not None:  # still that plugin (left out where it crashed)
            inserts.append({"kind": "plugin", "path": ins.placeholder_for, "raw": {},
                            "params": {}})
        elif ins.kind == "plugin":
            proc = ins.processor
            raw = {k: float(proc.parameters[k].raw_value)
                   for k in getattr(proc, "parameters", {})}
            inserts.append({"kind": "plugin", "path": ins.path, "state": encode_state(proc),
                            "raw": raw, "params": dict(ins.requested)})
        else:
            cls = type(ins.processor)
            values = {**bridge.parameters(i), **ins.requested}  # set, maybe not yet taken
            params = {k: v for k, v in values.items()
                      if isinstance(v, (int, float, bool)) and _settable(cls, k)}
            inserts.append({"kind": ins.kind, "params": params})
    return {"rooms": [r.name for r in bridge.rooms], "room_files": dict(bridge.room_files),
            "inserts": inserts}


def encode_state(proc: Any) -> str:
    """A hosted plugin's ``raw_state`` in base64 (``""`` when it has none)."""
    return state_text(plugin_raw_state(proc))


def state_text(blob: bytes | None) -> str:
    """A state blob as the spec's base64 text (``""`` for none)."""
    return base64.b64encode(bytes(blob)).decode("ascii") if blob else ""


def decode_state(text: str | None) -> bytes | None:
    """The blob of a base64 ``state`` field (None for ``""``); bad base64 raises EffectError."""
    if not text:
        return None
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EffectError(f"plugin state is not valid base64 ({exc})") from None


def _settable(cls: type, name: str) -> bool:
    """False for read-only properties (pedalboard's ``is_effect``, ``is_instrument``)."""
    attr = getattr(cls, name, None)
    return not isinstance(attr, property) or attr.fset is not None


def build(spec: dict[str, Any], *, sample_rate: int, channels: int,
          skip_plugins: frozenset[str] = frozenset()) -> EffectsBridge:
    """A new bridge from ``spec``; plugins whose path is in ``skip_plugins`` are left out
    (and reported in ``errors``)."""
    bridge = EffectsBridge(sample_rate=sample_rate, channels=channels,
                           room_names=spec.get("rooms", ()),
                           room_files=spec.get("room_files") or {})
    for ins in spec.get("inserts", ()):
        apply_change(bridge, _insert_change(ins), skip_plugins=skip_plugins)
    return bridge


def _insert_change(ins: dict[str, Any]) -> dict[str, Any]:
    if ins.get("kind") == "plugin":
        return {"op": "load_plugin", "path": ins["path"], "state": ins.get("state", ""),
                "raw": ins.get("raw", {}), "params": ins.get("params", {})}
    return {"op": "add_effect", "kind": ins["kind"], "params": ins.get("params", {})}


def apply_change(bridge: EffectsBridge, change: dict[str, Any], *,
                 skip_plugins: frozenset[str] = frozenset()) -> None:
    """Apply one JSON change to ``bridge``: ``add_effect`` (kind, params), ``load_plugin``
    (path, state, raw, params: applied in that order), ``remove_insert`` (index),
    ``set_param`` (index, name, value), ``set_room_file`` (name, path). Failures land in
    ``bridge.errors`` (never fatal)."""
    op = change.get("op")
    try:
        if op == "add_effect":
            bridge.add_effect(str(change["kind"]), **dict(change.get("params") or {}))
        elif op == "load_plugin":
            path = str(change["path"])
            if path in skip_plugins:
                # a unity-gain placeholder keeps the later inserts' indices
                bridge.add_placeholder(path)
                return
            raw = change.get("raw") or {}
            idx = bridge.load_plugin(path, state=decode_state(change.get("state")))
            if idx is not None:
                proc = bridge.processor(idx)
                for k, v in raw.items():
                    proc.parameters[k].raw_value = float(v)
                for k, v in (change.get("params") or {}).items():
                    bridge.set_param(idx, k, v)
        elif op == "remove_insert":
            bridge.remove_insert(int(change["index"]))
        elif op == "set_param":
            bridge.set_param(int(change["index"]), str(change["name"]), change["value"])
        elif op == "set_room_file":
            bridge.set_room_file(str(change["name"]), str(change["path"]))
        else:
            raise EffectError(f"effect change {op!r} is unknown")
    except (EffectError, KeyError, TypeError, ValueError) as exc:
        bridge.errors.append(f"effect change {change!r} failed: {exc}")


__all__ = ["apply_change", "build", "decode_state", "describe", "encode_state",
           "state_text"]
