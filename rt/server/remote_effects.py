"""The effects chain as a client sees it: a local :class:`EffectsBridge` (validation, offline
renders) whose every change is also sent to the audio server as a JSON change
(:mod:`atomsynth.rt.server.effects_spec`). Adding a room, an insert or a plugin is an edit of the
server's running chain: the transport never stops and the stream is never reopened."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from atomsynth.rt.effects import EffectsBridge
from atomsynth.rt.server.effects_spec import state_text


class RemoteEffects:
    """Forwards :class:`EffectsBridge` changes to the server (see the module).

    Parameters
    ----------
    local : EffectsBridge
        The client's copy (the chain offline renders use).
    send : callable
        Takes one JSON-able change dict; sends it to the server (or drops it before start).
    """

    def __init__(self, local: EffectsBridge, send: Callable[[dict[str, Any]], None]) -> None:
        self.local = local
        self._send = send

    def add_effect(self, kind: str, **params: float) -> int | None:
        idx = self.local.add_effect(kind, **params)
        if idx is not None:
            self._send({"op": "add_effect", "kind": kind, "params": dict(params)})
        return idx

    def load_plugin(self, path: str | os.PathLike, *, params: dict[str, Any] | None = None,
                    plugin_name: str | None = None, state: bytes | None = None) -> int | None:
        """Load the plugin here and in the server, with the same saved ``state`` (its
        ``raw_state`` blob, sent in base64) and then ``params``."""
        idx = self.local.load_plugin(path, params=params, plugin_name=plugin_name, state=state)
        if idx is not None:
            self._send({"op": "load_plugin", "path": str(path), "state": state_text(state),
                        "params": dict(params or {})})
        return idx

    def remove_insert(self, index: int) -> None:
        self.local.remove_insert(index)
        self._send({"op": "remove_insert", "index": int(index)})

    def set_param(self, index: int, name: str, value: Any) -> None:
        self.local.set_param(index, name, value)  # validates
        if self.local.is_placeholder(int(index)):
            return  # meant for a plugin that was left out: dropped with a note (local.errors)
        self._send({"op": "set_param", "index": int(index), "name": str(name),
                    "value": value if isinstance(value, (str, bool)) else float(value)})

    def set_room_file(self, name: str, path: str | os.PathLike) -> bool:
        ok = self.local.set_room_file(name, path)
        if ok:
            self._send({"op": "set_room_file", "name": str(name), "path": str(path)})
        return ok

    def __getattr__(self, name: str) -> Any:
        # read-only views: errors, active, rooms, inserts, parameters, describe, clone, ...
        return getattr(self.local, name)


__all__ = ["RemoteEffects"]
