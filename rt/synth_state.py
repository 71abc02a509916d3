"""The streaming synthesizer's state as typed records (NumPy arrays in NamedTuples).

The Numba kernels of :mod:`atomsynth.rt.synth_kernels` take these records whole (Numba types a
NamedTuple of arrays field by field), so every piece of state has a name a reader and a tool
can follow. Scalars that kernels update in place are arrays of shape ``(1,)``.

Slots: a *slot* holds one sounding resonant atom (at most :data:`MAX_MODES` modes, ``M``);
``S`` is the pool's capacity. The steady bank holds the free-ringing modes of slots whose
controls are steady (see :mod:`atomsynth.rt.synth_kernels`); entry ``j`` lives at
``[j // BANK_CHUNK, :, j % BANK_CHUNK]`` of its row arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from atomsynth.rt.params import MAX_MODES

TICK = 32
"""Control grid in samples (0.67 ms at 48 kHz)."""

ANCHOR = 128
"""Float32 path: samples between re-anchorings from the exact float64 state (counted from
each atom's start, so the same for every block partition)."""

MAC_PITCH, MAC_DECAY, MAC_BRIGHT, MAC_MASTER = 0, 1, 2, 3
"""Indices of :attr:`Controls.macro_now` / ``macro_target``: ``log`` of the pitch, decay and
brightness ratios, and the master gain (linear, transport gate included)."""
N_MACROS = 4
N_POLE_MACROS = 3
"""The macros that move poles and weights (pitch, decay, brightness) come first."""

F32_POLE_RE, F32_POLE_IM, F32_WEIGHT, F32_STATE_RE, F32_STATE_IM = 0, 1, 2, 3, 4
"""Rows of :attr:`SlotState.fast` (the float32 path of each mode)."""
N_F32_ROWS = 5

BANK_CHUNK = 256
"""Steady-mode bank: modes per chunk; a chunk's state stays in L1 over a whole tick."""

BANK_POLE_RE, BANK_POLE_IM, BANK_STATE_RE, BANK_STATE_IM, BANK_WEIGHT_L, BANK_WEIGHT_R = range(6)
"""Rows of :attr:`BankState.fast` (float32; the weights include the atom's gain and pan)."""
BANK_ROWS32 = 6
BANK_EXACT_RE, BANK_EXACT_IM, BANK_STEP_RE, BANK_STEP_IM = range(4)
"""Rows of :attr:`BankState.exact` (float64): the exact state at the bank's last anchor and
``p^TICK``."""
BANK_ROWS64 = 4


class SlotState(NamedTuple):
    """Per-slot state, first axis the slot (capacity ``S``).

    Times are absolute output samples of the kernels' clock.
    """

    atom: np.ndarray
    """int64 (S,): the resonant atom the slot plays (-1: orphaned, e.g. after a seek)."""
    start: np.ndarray
    """int64 (S,): sample of the atom's local time 0."""
    life: np.ndarray
    """int64 (S,): samples the atom lasts (burst + tail scaled by the decay macro)."""
    tail: np.ndarray
    """int64 (S,): samples after the burst until -100 dB at neutral decay."""
    burst_offset: np.ndarray
    """int64 (S,): arena index of the burst's sample 0 (only unplayed samples are kept)."""
    burst_len: np.ndarray
    """int64 (S,): burst length in samples."""
    dry_mix: np.ndarray
    """float64 (S,): weight of the burst itself in the output (the atom's ``mix``)."""
    n_modes: np.ndarray
    """int64 (S,): sounding modes (the first ``n_modes`` columns of the mode arrays)."""
    room: np.ndarray
    """int64 (S,): room the atom sends to (-1: dry only)."""
    killed: np.ndarray
    """bool (S,): fading out to retire (seek, swap of the set)."""
    gain_start: np.ndarray
    """float64 (S, 2): left/right gain at the current tick's start (ramped from here)."""
    gain_end: np.ndarray
    """float64 (S, 2): left/right gain at the current tick's end."""
    gain_target: np.ndarray
    """float64 (S, 2): left/right gain the smoothing moves to."""
    send_start: np.ndarray
    """float64 (S,): room send at the tick's start."""
    send_end: np.ndarray
    """float64 (S,): room send at the tick's end."""
    send_target: np.ndarray
    """float64 (S,): room send target."""
    omega0: np.ndarray
    """float64 (S, M): mode frequency in radians per sample at neutral pitch."""
    log_radius0: np.ndarray
    """float64 (S, M): log of the pole radius per sample at neutral decay."""
    weight0: np.ndarray
    """float64 (S, M): output weight of the mode at neutral macros (normalization included)."""
    cutoff_ratio2: np.ndarray
    """float64 (S, M): ``(f_m / cutoff_hz) ** 2`` (the brightness macro moves the cutoff)."""
    pole_re: np.ndarray
    """float64 (S, M): pole ``p = r exp(i omega)`` at the current macros, real part."""
    pole_im: np.ndarray
    """float64 (S, M): pole, imaginary part."""
    weight: np.ndarray
    """float64 (S, M): output weight at the current macros."""
    state_re: np.ndarray
    """float64 (S, M): exact mode state ``z``, real part."""
    state_im: np.ndarray
    """float64 (S, M): exact mode state, imaginary part."""
    fast: np.ndarray
    """float32 (S, 5, M): float32 path: pole, weight and state (rows ``F32_*``)."""
    pole_pow_anchor: np.ndarray
    """float64 (S, 2, M): ``p^ANCHOR`` (real, imaginary)."""
    next_anchor: np.ndarray
    """int64 (S,): next anchor sample of the slot."""
    on_float32: np.ndarray
    """bool (S,): the slot runs the float32 path (else the exact float64 path)."""
    in_bank: np.ndarray
    """bool (S,): the slot's modes are in the steady bank."""
    bank_entry: np.ndarray
    """int64 (S, M): bank entry of each of the slot's modes (while in the bank)."""


def new_slot_state(capacity: int, old: SlotState | None = None) -> SlotState:
    """Zeroed slot state for ``capacity`` slots (``old``'s slots copied in front)."""
    S, M = capacity, MAX_MODES
    shapes = {"gain_start": (S, 2), "gain_end": (S, 2), "gain_target": (S, 2),
              "fast": (S, N_F32_ROWS, M), "pole_pow_anchor": (S, 2, M)}
    dtypes = {"killed": np.bool_, "on_float32": np.bool_, "in_bank": np.bool_,
              "fast": np.float32}
    ints = ("atom", "start", "life", "tail", "burst_offset", "burst_len", "n_modes", "room",
            "next_anchor", "bank_entry")
    per_mode = ("omega0", "log_radius0", "weight0", "cutoff_ratio2", "pole_re", "pole_im",
                "weight", "state_re", "state_im", "bank_entry")
    fields = {}
    for name in SlotState._fields:
        shape = shapes.get(name, (S, M) if name in per_mode else (S,))
        dtype = dtypes.get(name, np.int64 if name in ints else np.float64)
        arr = np.zeros(shape, dtype)
        if old is not None:
            arr[: len(old.atom)] = getattr(old, name)
        fields[name] = arr
    return SlotState(**fields)


class SlotList(NamedTuple):
    """Which slots are in use: the active ones in start order, the free ones as a stack."""

    active: np.ndarray
    """int64 (S,): active slot numbers in start order; the first ``n_active[0]`` are valid."""
    n_active: np.ndarray
    """int64 (1,)."""
    free: np.ndarray
    """int64 (S,): free slot numbers, a stack (the top is ``free[n_free[0] - 1]``)."""
    n_free: np.ndarray
    """int64 (1,)."""


def new_slot_list(capacity: int, old: SlotList | None = None) -> SlotList:
    """Slot lists for ``capacity`` slots; new slots go on the free stack (lowest on top)."""
    active = np.zeros(capacity, np.int64)
    free = np.zeros(capacity, np.int64)
    n_active = np.zeros(1, np.int64)
    n_free = np.zeros(1, np.int64)
    start = 0
    if old is not None:
        start = len(old.active)
        na, nf = int(old.n_active[0]), int(old.n_free[0])
        active[:na] = old.active[:na]
        free[:nf] = old.free[:nf]
        n_active[0], n_free[0] = na, nf
    extra = np.arange(capacity - 1, start - 1, -1, dtype=np.int64)
    nf = int(n_free[0])
    free[nf : nf + extra.size] = extra
    n_free[0] = nf + extra.size
    return SlotList(active, n_active, free, n_free)


class BankState(NamedTuple):
    """The steady bank: free-ringing modes of slots with steady controls, chunk-major."""

    fast: np.ndarray
    """float32 (C, 6, BANK_CHUNK): rows ``BANK_POLE_RE`` .. ``BANK_WEIGHT_R``."""
    exact: np.ndarray
    """float64 (C, 4, BANK_CHUNK): rows ``BANK_EXACT_RE`` .. ``BANK_STEP_IM``."""
    entry_slot: np.ndarray
    """int64 (C * BANK_CHUNK,): slot of each entry (-1: unused)."""
    entry_mode: np.ndarray
    """int64 (C * BANK_CHUNK,): mode of each entry within its slot."""
    n_entries: np.ndarray
    """int64 (1,): entries in use (the first ones: the bank stays dense)."""
    anchor_sample: np.ndarray
    """int64 (1,): sample of the last anchor (a tick end) of :attr:`exact`."""


def new_bank_state(capacity: int, old: BankState | None = None) -> BankState:
    """A bank for at least ``capacity`` entries (``old``'s entries copied in front)."""
    ch = -(-capacity // BANK_CHUNK)
    fast = np.zeros((ch, BANK_ROWS32, BANK_CHUNK), np.float32)
    exact = np.zeros((ch, BANK_ROWS64, BANK_CHUNK))
    slot = np.full(ch * BANK_CHUNK, -1, np.int64)
    mode = np.full(ch * BANK_CHUNK, -1, np.int64)
    n_entries = np.zeros(1, np.int64)
    anchor = np.zeros(1, np.int64)
    if old is not None:
        oc = old.fast.shape[0]
        fast[:oc] = old.fast
        exact[:oc] = old.exact
        slot[: old.entry_slot.size] = old.entry_slot
        mode[: old.entry_mode.size] = old.entry_mode
        n_entries[:] = old.n_entries
        anchor[:] = old.anchor_sample
    return BankState(fast, exact, slot, mode, n_entries, anchor)


class Controls(NamedTuple):
    """Macros as the kernels see them (smoothed one step per tick)."""

    macro_now: np.ndarray
    """float64 (N_MACROS,): smoothed values (indices ``MAC_*``)."""
    macro_target: np.ndarray
    """float64 (N_MACROS,): targets."""
    master_start: np.ndarray
    """float64 (1,): master gain at the current tick's start."""
    master_end: np.ndarray
    """float64 (1,): master gain at the current tick's end."""
    pole_macros: np.ndarray
    """float64 (N_POLE_MACROS,): the macros the slots' poles were last computed with."""
    smoothing: np.ndarray
    """float64 (1,): one-pole smoothing coefficient per tick."""


def new_controls(smoothing: float) -> Controls:
    """Neutral controls (master gain 1)."""
    now = np.zeros(N_MACROS)
    target = np.zeros(N_MACROS)
    now[MAC_MASTER] = target[MAC_MASTER] = 1.0
    return Controls(now, target, np.ones(1), np.ones(1), np.zeros(N_POLE_MACROS),
                    np.array([float(smoothing)]))


class Scratch(NamedTuple):
    """Work space of one :func:`~atomsynth.rt.synth_kernels.render_block` call."""

    samples: np.ndarray
    """float64 (TICK,): one slot's samples of one tick."""
    tick_macros: np.ndarray
    """float64 (T, N_MACROS): smoothed macros of each tick of the call."""
    tick_master: np.ndarray
    """float64 (T, 2): master gain ramp of each tick: value before its first sample, step."""
    tick_poles_move: np.ndarray
    """bool (T,): the pole macros changed at the tick's start."""


def new_scratch(max_count: int) -> Scratch:
    """Scratch for calls of up to ``max_count`` samples."""
    T = (max_count + 2 * TICK) // TICK + 4
    return Scratch(np.zeros(TICK), np.zeros((T, N_MACROS)), np.zeros((T, 2)),
                   np.zeros(T, np.bool_))
