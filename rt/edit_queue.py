"""Live edits that cannot kill the render thread: checks, a coalescing queue, a guard.

* :func:`check_atom_set_for` validates a set swap against the running synthesizer (channels,
  rooms; MDCT atoms at another rate are resampled, so any rate swaps in) in the caller's
  thread, which raises :class:`~atomsynth.rt.errors.ParameterError`; the render thread never
  sees the edit.
* :class:`EditQueue` carries edits from control threads to the render thread, bounded; edits
  with a key (a macro, a group's gain) coalesce: the newest value per key replaces the pending
  one in place, so a burst of 20,000 macro moves is a handful of edits, none refused.
* :func:`guarded` wraps an edit so that anything it still raises in the render thread is
  recorded (``errors``) and the edit dropped; the thread keeps rendering.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import ParameterError

Edit = Callable[[], None]


def check_atom_set_for(atom_set: Any, *, sample_rate: int, channels: int, n_rooms: int
                       ) -> AtomSet:
    """Refuse a set the running synthesizer cannot switch to (the checks its loader makes in
    the render thread, made here in the caller's)."""
    if not isinstance(atom_set, AtomSet):
        raise ParameterError(f"atom_set must be an AtomSet, got {type(atom_set).__name__}")
    if atom_set.channels != channels:
        raise ParameterError(f"atom set has {atom_set.channels} channel(s); the running synth "
                             f"has {channels} (open a new engine for another channel count)")
    need = len(atom_set.room_names)
    if len(atom_set.resonant):
        need = max(need, int(atom_set.resonant.room.max()) + 1)
    if need > n_rooms:
        raise ParameterError(f"atom set needs {need} room(s); the running synth has {n_rooms}")
    return atom_set


def guarded(fn: Edit, errors: deque) -> Edit:
    """``fn`` that records (in ``errors``) instead of raising: the edit is dropped."""

    def run() -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - the render thread must survive any edit
            errors.append(f"edit dropped: {type(exc).__name__}: {exc}")

    return run


class EditQueue:
    """A bounded FIFO of edits where keyed edits coalesce (see the module).

    Parameters
    ----------
    max_size : int
        Pending edits at most; a push beyond it is refused (``refused`` counts them). Keyed
        edits whose key is pending never count twice.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = int(max_size)
        self._items: deque[list] = deque()  # [key, edit]
        self._by_key: dict[Hashable, list] = {}
        self._lock = threading.Lock()  # control threads and the render thread; never the
        self.refused = 0               # audio callback
        self.coalesced = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, fn: Edit, key: Hashable | None = None) -> bool:
        """Queue ``fn``; with ``key``, replace the pending edit of that key. False if full."""
        with self._lock:
            if key is not None:
                entry = self._by_key.get(key)
                if entry is not None:
                    entry[1] = fn
                    self.coalesced += 1
                    return True
            if len(self._items) >= self.max_size:
                self.refused += 1
                return False
            entry = [key, fn]
            self._items.append(entry)
            if key is not None:
                self._by_key[key] = entry
            return True

    def pop(self) -> Edit | None:
        """The oldest pending edit (its newest value), or None."""
        with self._lock:
            if not self._items:
                return None
            key, fn = self._items.popleft()
            if key is not None:
                self._by_key.pop(key, None)
            return fn

    def drain(self, sink: Callable[[Edit], None]) -> int:
        """Hand every pending edit to ``sink`` in order; returns how many."""
        n = 0
        while (fn := self.pop()) is not None:
            sink(fn)
            n += 1
        return n

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._by_key.clear()


__all__ = ["EditQueue", "check_atom_set_for", "guarded"]
