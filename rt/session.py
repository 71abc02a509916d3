"""Session files: everything the app plays besides the atoms, beside the ``.atoms`` file.

A session is a JSON file ``NAME.atomsession.json`` next to ``NAME.atoms`` (see
``docs/app.md`` for the format). It keeps what is not part of the atoms: the macros, the group
mixer, the insert chain with each effect's parameters (and each hosted plugin's saved state),
the rooms' impulse responses (by reference, with a fallback to the room search by name) and
the MIDI mappings. Nothing is pickled; plugin state is the plugin's own state blob in base64.

One module reads and applies sessions, for the app and for ``atomsynth render``, so the two
render the same samples: :func:`render_session` runs the streaming synthesizer with the
session's controls through an :class:`~atomsynth.rt.effects.EffectsBridge` built by
:func:`build_effects`, block by block, exactly as the app's renders and playback do.

Anything a session refers to that cannot be found (an impulse response, a plugin) is
reported in the ``problems`` list of :func:`build_effects` and skipped; the rest still loads.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from atomsynth.rt.atomic import write_text_atomic
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import AtomFileError

FORMAT = "atomsynth-session"
VERSION = 1
SUFFIX = ".atomsession.json"
MACRO_NAMES = ("pitch", "time_stretch", "decay", "brightness", "master_gain_db")
GROUP_KEYS = ("gain_db", "pan", "mute", "solo", "room_send")
MAX_BYTES = 64 * 1024 * 1024


class SessionError(AtomFileError):
    """A session file is unreadable, malformed or of an unknown version."""


@dataclass
class InsertState:
    """One insert effect: a built-in ``kind`` (``gain``, ``reverb``, ...) or ``plugin``.

    ``params`` are values in the effect's own units by pedalboard attribute name; ``state``
    is a hosted plugin's saved state (``raw_state``) in base64, or ``""``.
    """

    kind: str
    name: str = ""
    path: str = ""
    params: dict[str, float | bool] = field(default_factory=dict)
    state: str = ""


@dataclass
class RoomRef:
    """Where a room's impulse response came from (absolute path, and relative to the
    session's folder); when neither exists the room is looked up by name."""

    path: str = ""
    relative: str = ""


@dataclass
class Session:
    """Everything the app plays besides the atoms (see the module)."""

    atoms: str = ""  # the .atoms file, relative to the session's folder
    macros: dict[str, float] = field(default_factory=dict)
    groups: dict[int, dict[str, float | bool]] = field(default_factory=dict)
    inserts: list[InsertState] = field(default_factory=list)
    rooms: dict[str, RoomRef] = field(default_factory=dict)
    midi_mappings: list[dict[str, Any]] = field(default_factory=list)
    block_size: int = 256

    def to_json(self) -> str:
        data = {"format": FORMAT, "version": VERSION, **asdict(self)}
        data["groups"] = {str(g): v for g, v in self.groups.items()}
        return json.dumps(data, indent=2, sort_keys=False) + "\n"


def session_path_for(atoms_path: str | os.PathLike) -> Path:
    """``dir/NAME.atoms`` -> ``dir/NAME.atomsession.json``."""
    p = Path(atoms_path)
    return p.with_name(p.stem + SUFFIX) if p.suffix.lower() == ".atoms" else p.with_name(
        p.name + SUFFIX)


def atoms_path_for(session_path: str | os.PathLike, session: Session) -> Path:
    """The ``.atoms`` file a session belongs to."""
    sp = Path(session_path)
    if session.atoms:
        return sp.parent / session.atoms
    name = sp.name[: -len(SUFFIX)] if sp.name.endswith(SUFFIX) else sp.stem
    return sp.with_name(name + ".atoms")


def write_session(session: Session, path: str | os.PathLike) -> Path:
    """Write ``session`` to ``path`` atomically (JSON)."""
    path = Path(path)
    write_text_atomic(path, session.to_json())
    return path


def _num(x: Any, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not np.isfinite(x):
        raise SessionError(f"{where} = {x!r}: expected a finite number")
    return float(x)


def _obj(x: Any, where: str) -> dict:
    if not isinstance(x, dict):
        raise SessionError(f"{where}: expected an object, got {type(x).__name__}")
    return x


def parse_session(text: str, *, where: str = "session") -> Session:
    """A :class:`Session` from its JSON text (every field checked; :class:`SessionError`)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SessionError(f"{where}: not JSON ({exc})") from None
    data = _obj(data, where)
    if data.get("format") != FORMAT:
        raise SessionError(f"{where}: format = {data.get('format')!r}; expected {FORMAT!r}")
    if data.get("version") != VERSION:
        raise SessionError(f"{where}: version = {data.get('version')!r}; this build reads "
                           f"version {VERSION}")
    s = Session(atoms=str(data.get("atoms", "")))
    for k, v in _obj(data.get("macros", {}), f"{where}: macros").items():
        if k not in MACRO_NAMES:
            raise SessionError(f"{where}: macro {k!r} unknown; known {list(MACRO_NAMES)}")
        s.macros[k] = _num(v, f"{where}: macros.{k}")
    for g, ctl in _obj(data.get("groups", {}), f"{where}: groups").items():
        try:
            gi = int(g)
        except ValueError:
            raise SessionError(f"{where}: group id {g!r} is not an integer") from None
        out: dict[str, float | bool] = {}
        for k, v in _obj(ctl, f"{where}: groups.{g}").items():
            if k not in GROUP_KEYS:
                raise SessionError(f"{where}: groups.{g}.{k} unknown; known {list(GROUP_KEYS)}")
            out[k] = bool(v) if k in ("mute", "solo") else _num(v, f"{where}: groups.{g}.{k}")
        s.groups[gi] = out
    inserts = data.get("inserts", [])
    if not isinstance(inserts, list):
        raise SessionError(f"{where}: inserts must be a list")
    for i, ins in enumerate(inserts):
        ins = _obj(ins, f"{where}: inserts[{i}]")
        if not isinstance(ins.get("kind"), str) or not ins["kind"]:
            raise SessionError(f"{where}: inserts[{i}].kind missing")
        params = {}
        for k, v in _obj(ins.get("params", {}), f"{where}: inserts[{i}].params").items():
            params[k] = v if isinstance(v, bool) else _num(v, f"{where}: inserts[{i}].{k}")
        state = str(ins.get("state", ""))
        if state:
            try:
                base64.b64decode(state, validate=True)
            except ValueError:
                raise SessionError(f"{where}: inserts[{i}].state is not base64") from None
        s.inserts.append(InsertState(kind=ins["kind"], name=str(ins.get("name", "")),
                                     path=str(ins.get("path", "")), params=params,
                                     state=state))
    for name, ref in _obj(data.get("rooms", {}), f"{where}: rooms").items():
        ref = _obj(ref, f"{where}: rooms.{name}")
        s.rooms[str(name)] = RoomRef(path=str(ref.get("path", "")),
                                     relative=str(ref.get("relative", "")))
    midi = data.get("midi_mappings", [])
    if not isinstance(midi, list) or not all(isinstance(m, dict) for m in midi):
        raise SessionError(f"{where}: midi_mappings must be a list of objects")
    s.midi_mappings = midi
    bs = data.get("block_size", 256)
    if isinstance(bs, bool) or not isinstance(bs, int) or not 16 <= bs <= 65536:
        raise SessionError(f"{where}: block_size = {bs!r}; allowed integers [16, 65536]")
    s.block_size = bs
    return s


def read_session(path: str | os.PathLike) -> Session:
    """Read a session file (:class:`SessionError` naming the file and the problem)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SessionError(f"{path}: {size} bytes; a session is at most {MAX_BYTES}")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SessionError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SessionError(f"{path}: not UTF-8 text") from None
    return parse_session(text, where=str(path))


def room_reference(ir_path: str | os.PathLike, session_dir: str | os.PathLike) -> RoomRef:
    """A :class:`RoomRef` to ``ir_path`` (absolute, and relative to ``session_dir``)."""
    p = Path(ir_path).resolve()
    try:
        rel = os.path.relpath(p, Path(session_dir).resolve())
    except ValueError:  # another drive (Windows)
        rel = ""
    return RoomRef(path=str(p), relative=rel)


def resolve_rooms(session: Session, room_names, base_dir: str | os.PathLike | None
                  ) -> tuple[dict[str, str], list[str]]:
    """IR files for the set's rooms: ``({room: file}, problems)``.

    A room with a reference uses its file (absolute path first, then relative to
    ``base_dir``); when the file is gone the room is searched by name
    (``IMPULSE_RESPONSE_PATH``, bundled rooms) and the fallback is reported; a room found
    nowhere is a problem (its sends are dropped).
    """
    from atomsynth.rt.rooms import find_room_file

    files: dict[str, str] = {}
    problems: list[str] = []
    for name in room_names:
        ref = session.rooms.get(name)
        candidates = []
        if ref is not None:
            if ref.path:
                candidates.append(Path(ref.path))
            if ref.relative and base_dir is not None:
                candidates.append(Path(base_dir) / ref.relative)
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is not None:
            files[name] = str(hit)
            continue
        found = find_room_file(name)
        if found is None:
            where = f" ({ref.path or ref.relative})" if ref is not None else ""
            problems.append(f"room {name!r}: impulse response not found{where}; "
                            "its sends play dry")
        else:
            files[name] = str(found)
            if ref is not None and (ref.path or ref.relative):
                problems.append(f"room {name!r}: {ref.path or ref.relative} is missing; "
                                f"using {found} found by name")
    return files, problems


def build_effects(session: Session, atom_set: AtomSet, sample_rate: int, *,
                  base_dir: str | os.PathLike | None = None):
    """The effects bridge the session describes: ``(EffectsBridge, problems)``.

    Problems (a missing impulse response or plugin, a parameter a plugin refuses) are
    listed, one line each; what can be loaded is loaded.
    """
    from atomsynth.rt.effects import EffectsBridge

    files, problems = resolve_rooms(session, atom_set.room_names, base_dir)
    # Every room keeps its bus (room r is bus r + 1); one without a file stays silent.
    fx = EffectsBridge(sample_rate=sample_rate, channels=atom_set.channels,
                       room_names=atom_set.room_names, room_files=files)
    problems += [e for e in fx.errors if "no impulse response found" not in e]
    for i, ins in enumerate(session.inserts):
        if ins.kind == "plugin":
            restore_plugin(fx, ins, problems)
        elif fx.add_effect(ins.kind, **ins.params) is None:
            problems.append(f"insert {i} ({ins.name or ins.kind}): "
                            f"{fx.errors[-1] if fx.errors else 'failed'}")
    return fx, problems


def restore_plugin(fx, ins: InsertState, problems: list[str]) -> int | None:
    """Load ``ins`` (a hosted plugin) into the bridge ``fx`` with its state and parameters."""
    path = Path(ins.path)
    label = ins.name or path.stem
    if not path.exists():
        problems.append(f"plugin {label!r}: {ins.path} not found; the insert is left out")
        return None
    idx = fx.load_plugin(path)
    if idx is None:
        problems.append(f"plugin {label!r}: {fx.errors[-1] if fx.errors else 'did not load'}")
        return None
    proc = fx.processor(idx)
    apply_plugin_state(proc, ins, problems)
    return idx


def apply_plugin_state(proc, ins: InsertState, problems: list[str]) -> None:
    """Give a loaded plugin the saved ``state`` blob, then the saved parameter values that
    differ from what the state gave (the state holds exact values: setting an equal named
    value again would snap it to pedalboard's grid of 1001 steps; a stale state, saved before
    the plugin processed a change, is corrected by the values)."""
    from atomsynth.rt import fpenv

    label = ins.name or Path(ins.path).stem
    with fpenv.preserved():
        if ins.state and hasattr(proc, "raw_state"):
            try:
                proc.raw_state = base64.b64decode(ins.state)
            except Exception as exc:  # noqa: BLE001 - plugins raise anything
                problems.append(f"plugin {label!r}: saved state refused ({exc})")
        for k, v in ins.params.items():
            if ins.state and _same_value(proc, k, v):
                continue
            try:
                setattr(proc, k, v)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"plugin {label!r}: {k} = {v!r} refused ({exc})")


def _same_value(proc, name: str, value) -> bool:
    try:
        now = getattr(proc, name)
        return bool(abs(float(now) - float(value)) <= 1e-6 * max(1.0, abs(float(value))))
    except Exception:  # noqa: BLE001 - a plugin may refuse to report a value
        return False


def plugin_state(proc, *, flush: bool = False) -> str:
    """A hosted plugin's state blob (``raw_state``) in base64, or ``""`` (``flush``: see
    :func:`~atomsynth.rt.effects.plugin_raw_state`)."""
    from atomsynth.rt.effects import plugin_raw_state

    raw = plugin_raw_state(proc, flush=flush)
    return base64.b64encode(raw).decode("ascii") if raw else ""


def make_synth(atom_set: AtomSet, session: Session, sample_rate: int, *,
               precision: str = "float32"):
    """A :class:`StreamingSynth` for ``atom_set`` with the session's macros and groups."""
    from atomsynth.rt.synth import StreamingSynth

    synth = StreamingSynth(atom_set, sample_rate=sample_rate, max_block=8192,
                           n_rooms=len(atom_set.room_names), precision=precision)
    for name, value in session.macros.items():
        synth.set_macro(name, value)
    for g, ctl in session.groups.items():
        synth.set_group(int(g), **ctl)
    synth.run_pending()
    return synth


def render_session(atom_set: AtomSet, session: Session, *, sample_rate: int | None = None,
                   duration_s: float | None = None, base_dir: str | os.PathLike | None = None,
                   precision: str = "float32",
                   progress: Callable[[float], None] | None = None
                   ) -> tuple[np.ndarray, list[str]]:
    """Render ``atom_set`` as the app plays it with ``session``: ``(mix, problems)``.

    The streaming synthesizer with the session's macros and groups, through the session's
    rooms and inserts, in blocks of ``session.block_size`` (what the effects see live).
    Returns float64 audio of shape (channels, samples).
    """
    from atomsynth.rt.engine import render_through

    sr = int(sample_rate or atom_set.sample_rate)
    fx, problems = build_effects(session, atom_set, sr, base_dir=base_dir)
    synth = make_synth(atom_set, session, sr, precision=precision)
    dur = atom_set.length_s if duration_s is None else float(duration_s)
    mix = render_through(synth, fx, duration_s=dur, block=session.block_size, progress=progress)
    return mix, problems


__all__ = ["InsertState", "RoomRef", "Session", "SessionError", "atoms_path_for",
           "build_effects", "make_synth", "parse_session", "plugin_state", "read_session",
           "render_session", "resolve_rooms", "room_reference", "session_path_for",
           "write_session"]
