"""The slot pool of the streaming synthesizer: per-slot state, the active and free lists, and
the arena of unplayed burst samples; and the steady bank that holds the modes of slots whose
controls are steady (the records are in :mod:`atomsynth.rt.synth_state`)."""

from __future__ import annotations

import math

import numpy as np

from atomsynth.rt import synth_kernels as K
from atomsynth.rt.synth_state import (
    BankState,
    SlotList,
    SlotState,
    new_bank_state,
    new_slot_list,
    new_slot_state,
)


class SlotPool:
    """Slots for sounding resonant atoms, grown by doubling (state is copied over).

    Attributes
    ----------
    state : SlotState
    lists : SlotList
    arena : ndarray, float64
        Unplayed burst samples of the active slots (grown and compacted on demand).
    """

    def __init__(self, capacity: int = 16, arena_size: int = 1 << 16) -> None:
        self.state: SlotState = new_slot_state(capacity)
        self.lists: SlotList = new_slot_list(capacity)
        self.arena = np.zeros(arena_size)
        self._cursor = 0

    @property
    def capacity(self) -> int:
        return len(self.state.atom)

    @property
    def n_active(self) -> int:
        return int(self.lists.n_active[0])

    @property
    def active(self) -> np.ndarray:
        """The active slots in start order (a view, valid until the next render)."""
        return self.lists.active[: self.lists.n_active[0]]

    def _grow(self, capacity: int) -> None:
        self.state = new_slot_state(capacity, self.state)
        self.lists = new_slot_list(capacity, self.lists)

    def take(self, k: int) -> np.ndarray:
        """Pop ``k`` free slots (lowest numbers first); :meth:`activate` them once started."""
        while self.lists.n_free[0] < k:
            self._grow(self.capacity * 2)
        nf = int(self.lists.n_free[0])
        slots = self.lists.free[nf - k : nf][::-1].copy()  # popped from the free stack's top
        self.lists.n_free[0] = nf - k
        return slots

    def activate(self, slots: np.ndarray) -> None:
        """Append started ``slots`` to the active list (which is in start order)."""
        na = int(self.lists.n_active[0])
        self.lists.active[na : na + slots.size] = slots
        self.lists.n_active[0] = na + slots.size

    def arena_alloc(self, need: int, now: int) -> int:
        """Room for ``need`` burst samples in the arena (compacted, then grown, when full);
        returns the offset."""
        if self._cursor + need > self.arena.size:
            slots = self.active
            slots = slots[np.argsort(self.state.burst_offset[slots], kind="stable")]
            self._cursor = int(K.compact_arena(self.arena, self.state, slots, now))
            if self._cursor + need > self.arena.size:
                size = 1 << int(math.ceil(math.log2(2 * (self._cursor + need))))
                arena = np.zeros(size)
                arena[: self._cursor] = self.arena[: self._cursor]
                self.arena = arena
        off = self._cursor
        self._cursor += need
        return off

    @property
    def bytes_per_slot(self) -> float:
        """Memory of the per-slot state, bytes per slot."""
        return sum(a.nbytes for a in self.state) / self.capacity


class SteadyBank:
    """The steady bank's state and its upkeep from Python (growing, evicting slots)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.state: BankState = new_bank_state(capacity)

    @property
    def n_entries(self) -> int:
        return int(self.state.n_entries[0])

    def reserve(self, need: int) -> None:
        """Room for ``need`` entries (grown to a power of two)."""
        if need > self.state.entry_slot.size:
            self.state = new_bank_state(1 << int(math.ceil(math.log2(need))), self.state)

    def evict(self, slots: SlotState, which: np.ndarray, now: int) -> None:
        """Take the slots ``which`` out of the bank at sample ``now`` (before their modes or
        poles change outside the kernels)."""
        which = np.ascontiguousarray(which, np.int64)
        if which.size and slots.in_bank[which].any():
            K.bank_evict(slots, self.state, which, now)
