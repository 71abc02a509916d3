"""The app's link to the real-time engine (:mod:`atomsynth.rt.engine`).

The bridge owns at most one :class:`Engine`; with audio output that engine is a client of an
audio server process (``atomsynth serve``, started with ``subprocess``, never forked from this
Qt process), so nothing the app does (drawing, garbage collection, a fit) can make it miss a
block. It never fakes playback: when no audio device can be
opened, ``engine`` is an output-less engine (edits and
renders work, transport does not advance) or ``None``, and :attr:`problem` says why in words
the window shows. All engine setters return immediately (the engine queues them), so calling
them from the GUI thread never blocks audio.
"""

from __future__ import annotations

from atomsynth.gui.mixdown import MixSettings
from atomsynth.rt import engine as engine_mod
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import AtomsynthError, AudioDeviceError


def list_devices() -> list[dict]:
    """Output devices as the engine reports them ([] without an engine or devices)."""
    try:
        return list(engine_mod.list_output_devices())
    except Exception:  # noqa: BLE001 - PortAudio can fail in many ways; no devices then
        return []


def describe_notice(message: str, plugins: dict[str, str]) -> str:
    """The watchdog's ``message`` in the window's words: which plugin (by its name, from
    ``plugins``: path -> name) was active when the audio server died, and that playback was
    restored (or the message as it is, for any other notice)."""
    if "audio server" not in message or "died" not in message:
        return message
    suspect = next(((path, name) for path, name in plugins.items() if path and path in message),
                   None)
    where = message.rsplit("playback restored at ", 1)
    pos = f" at {where[1].rstrip('.')}" if len(where) == 2 else ""
    if suspect is not None:
        head = (f"The audio server crashed while the plugin {suspect[1]!r} was active "
                f"({suspect[0]}); it is left out of playback (a unity gain holds its place).")
    elif "the active plugin was" in message:
        path = message.split("the active plugin was ", 1)[1].split(":", 1)[0]
        head = (f"The audio server crashed while the plugin {path} was active; it is left out "
                "of playback.")
    else:
        head = "The audio server crashed (no plugin was active)."
    return f"{head} Playback was restored{pos}. [{message}]"


class EngineBridge:
    """Creates, feeds and closes the engine; remembers why audio is unavailable.

    Parameters
    ----------
    device : int, str or None
        Output device (index or part of a name); ``None`` is the default device.
    output : bool
        False: never open an audio device (renders and edits only).
    block_size : int
        Frames per audio block.
    """

    def __init__(self, *, device=None, output: bool = True, block_size: int = 256) -> None:
        self.device = device
        self.output = output
        self.block_size = block_size
        self.engine = None
        self.problem: str | None = None
        self.has_output = False
        self.notices: list[str] = []
        """Messages of the audio server's watchdog (a crashed plugin named, a lost device,
        playback restored), newest last; the window shows and clears them."""

    def take_notices(self) -> list[str]:
        """The watchdog's messages since the last call (oldest first); the list is emptied.
        The watchdog thread appends; popping from the front is atomic under the GIL."""
        out = []
        while self.notices:
            out.append(self.notices.pop(0))
        return out

    # -- lifetime -------------------------------------------------------------------------
    def open(self, atom_set: AtomSet, settings: MixSettings | None = None) -> str | None:
        """(Re)create the engine for ``atom_set``. Returns a problem message or ``None``."""
        self.close()
        self.problem = None
        kwargs = dict(sample_rate=atom_set.sample_rate, block_size=self.block_size)
        if self.output:
            try:
                # a client of an audio server process (docs/server.md), at the device's rate
                eng = engine_mod.Engine(atom_set, device=self.device, output=True, sample_rate=None,
                                 block_size=self.block_size)
                eng.on_server_lost = self.notices.append  # from the engine's watchdog
                eng.start()
                self.engine, self.has_output = eng, True
            except (AudioDeviceError, OSError, RuntimeError) as exc:
                self.problem = f"no audio output: {exc}. Editing and rendering still work."
        if self.engine is None:
            try:
                eng = engine_mod.Engine(atom_set, output=False, **kwargs)
                eng.start()
                self.engine, self.has_output = eng, False
            except AtomsynthError as exc:
                self.problem = f"the engine could not start: {exc}"
                return self.problem
            if not self.output and self.problem is None:
                self.problem = "audio output is off (--no-audio)"
        if settings is not None:
            self.push_settings(settings)
        return self.problem

    def close(self) -> None:
        if self.engine is not None:
            eng, self.engine = self.engine, None
            try:
                eng.stop()
            finally:
                eng.close()
        self.has_output = False

    # -- controls -------------------------------------------------------------------------
    def set_atom_set(self, atom_set: AtomSet) -> None:
        if self.engine is not None:
            self.engine.set_atom_set(atom_set)

    def set_macro(self, name: str, value: float) -> None:
        if self.engine is not None:
            self.engine.set_macro(name, float(value))

    def set_group(self, group: int, **params) -> None:
        if self.engine is not None:
            self.engine.set_group(int(group), **params)

    def push_settings(self, settings: MixSettings) -> None:
        """Send every macro and group control (after a new engine or a new file)."""
        for name, value in settings.macros.items():
            self.set_macro(name, value)
        for g, c in settings.groups.items():
            self.set_group(g, gain_db=c.gain_db, pan=c.pan, mute=c.mute, solo=c.solo,
                           room_send=c.room_send)

    # -- transport ------------------------------------------------------------------------
    @property
    def can_play(self) -> bool:
        return self.engine is not None and self.has_output

    def play(self) -> bool:
        if not self.can_play:
            return False
        self.engine.play()
        return True

    def pause(self) -> None:
        if self.engine is not None:
            self.engine.pause()

    @property
    def playing(self) -> bool:
        return bool(self.engine is not None and self.engine.playing)

    def toggle(self) -> bool:
        """Play or pause; returns whether it is playing now."""
        if self.playing:
            self.pause()
            return False
        return self.play()

    def seek(self, seconds: float) -> None:
        if self.engine is not None:
            self.engine.seek(max(0.0, float(seconds)))

    def set_loop(self, start_s: float | None, end_s: float | None = None) -> None:
        if self.engine is None:
            return
        if start_s is None:
            self.engine.set_loop(None)
        else:
            self.engine.set_loop(float(start_s), float(end_s))

    @property
    def position_s(self) -> float:
        return float(self.engine.position_s) if self.engine is not None else 0.0

    def stats(self) -> dict:
        if self.engine is None:
            return {}
        try:
            return dict(self.engine.stats())
        except Exception:  # noqa: BLE001 - statistics must never take the window down
            return {}
