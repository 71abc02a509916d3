"""The window's live state <-> a :class:`~atomsynth.rt.session.Session` (see rt/session.py).

:func:`capture` takes the macros, the group mixer, the insert chain (with each plugin's state)
and the rooms in use from the app; :func:`restore` puts a read session back into a
:class:`MixSettings` and an :class:`EffectsChain` and returns the rooms' impulse-response
files plus the list of what could not be found. Reading, writing and rendering sessions is
:mod:`atomsynth.rt.session`'s job, shared with ``atomsynth render``.
"""

from __future__ import annotations

import os
from pathlib import Path

from atomsynth.gui.effects import Effect, EffectsChain, load_vst3, make_builtin
from atomsynth.gui.mixdown import MACRO_DEFAULTS, GroupControl, MixSettings
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.effects import EFFECT_KINDS
from atomsynth.rt.errors import AtomsynthError
from atomsynth.rt.session import (
    InsertState,
    Session,
    apply_plugin_state,
    plugin_state,
    resolve_rooms,
    room_reference,
)


def _plugin_values(plugin) -> dict[str, float | bool]:
    out: dict[str, float | bool] = {}
    for k in getattr(plugin, "parameters", {}):
        try:
            v = getattr(plugin, k)
        except Exception:  # noqa: BLE001 - a plugin may refuse to report a value
            continue
        if isinstance(v, (bool, int, float)):
            out[k] = v if isinstance(v, bool) else float(v)
    return out


def capture(atom_set: AtomSet, mix: MixSettings, chain: EffectsChain, *,
            session_dir: str | os.PathLike, atoms_name: str = "",
            room_files: dict[str, str] | None = None, block_size: int = 256,
            midi_mappings: list | None = None) -> Session:
    """The session of the app's current state (``room_files``: the IR in use per room)."""
    from atomsynth.rt.rooms import find_room_file

    inserts = []
    for e in chain.inserts:
        if e.kind == "plugin":
            inserts.append(InsertState(kind="plugin", name=e.name, path=str(Path(e.path).resolve()),
                                       params=_plugin_values(e.plugin),
                                       state=plugin_state(e.plugin, flush=True)))
        else:
            vals = {k: (v if isinstance(v, bool) else float(v)) for k, v in e.values().items()}
            inserts.append(InsertState(kind=e.kind, name=e.name, params=vals))
    rooms = {}
    for name in atom_set.room_names:
        f = (room_files or {}).get(name) or find_room_file(name)
        if f is not None:
            rooms[name] = room_reference(f, session_dir)
    groups = {g: {"gain_db": c.gain_db, "pan": c.pan, "mute": c.mute, "solo": c.solo,
                  "room_send": c.room_send}
              for g, c in sorted(mix.groups.items()) if c != GroupControl()}
    return Session(atoms=atoms_name, macros=dict(mix.macros), groups=groups, inserts=inserts,
                   rooms=rooms, midi_mappings=list(midi_mappings or []),
                   block_size=block_size)


def restore(session: Session, atom_set: AtomSet, mix: MixSettings, chain: EffectsChain, *,
            base_dir: str | os.PathLike | None) -> tuple[dict[str, str], list[str]]:
    """Load ``session`` into ``mix`` and ``chain`` (both replaced in place).

    Returns ``(room_files, problems)``: the impulse response to use per room, and one line
    per thing that could not be restored (the rest is restored).
    """
    problems: list[str] = []
    mix.macros.clear()
    mix.macros.update(MACRO_DEFAULTS)
    mix.macros.update(session.macros)
    mix.groups.clear()
    for g, ctl in session.groups.items():
        c = mix.group(g)
        for k, v in ctl.items():
            setattr(c, k, v)
    chain.inserts.clear()
    for i, ins in enumerate(session.inserts):
        try:
            if ins.kind == "plugin":
                if not Path(ins.path).exists():
                    problems.append(f"plugin {ins.name or Path(ins.path).stem!r}: {ins.path} "
                                    "not found; the insert is left out")
                    continue
                effect = load_vst3(ins.path)
                apply_plugin_state(effect.plugin, ins, problems)
            else:
                kind = EFFECT_KINDS.get(ins.kind)
                if kind is None:
                    problems.append(f"insert {i}: effect kind {ins.kind!r} unknown; left out")
                    continue
                effect = make_builtin(kind.class_name)
                for k, v in ins.params.items():
                    p = next((p for p in effect.params if p.name == k), None)
                    if p is None:
                        setattr(effect.plugin, k, v)
                    else:
                        effect.set(p, float(v))
        except AtomsynthError as exc:
            problems.append(f"insert {i} ({ins.name or ins.kind}): {exc}")
            continue
        except (AttributeError, TypeError, ValueError) as exc:
            problems.append(f"insert {i} ({ins.name or ins.kind}): {exc}")
            continue
        chain.inserts.append(effect)
    files, room_problems = resolve_rooms(session, atom_set.room_names, base_dir)
    return files, problems + room_problems


__all__ = ["Effect", "capture", "restore"]
