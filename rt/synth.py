"""The streaming synthesizer: renders an atom set block by block, with live controls.

:class:`StreamingSynth` keeps a pool of *slots* (sounding resonant atoms) and an overlap-add
ring for MDCT frames. Each call of :meth:`StreamingSynth.render` produces the next ``count``
output samples as buses of shape ``(1 + rooms, channels, count)``: bus 0 is the dry mix, bus
``r + 1`` the send to room ``r`` (the effects bridge convolves it).

Scheduling is sample-accurate and block-size independent:

* a resonant atom starts on the first output sample whose *score position* reaches its onset
  sample :func:`atomsynth.rt.extent.onset_sample` (score = output samples divided by the
  ``time_stretch`` macro, anchored where the stretch last changed), and retires after its
  burst plus its tail (:func:`atomsynth.rt.extent.tail_lengths`, times the ``decay`` macro);
* an MDCT frame ``t`` of hop ``N`` is synthesized (inverse MDCT, NumPy, outside the kernels)
  when the score reaches its first sample ``(t - 1) N`` and overlap-added into the ring;
* edits take effect on the first control tick (:data:`~atomsynth.rt.synth_kernels.TICK`
  samples, aligned to the output sample counter) at or after the sample they are stamped
  with; gains and macros are then smoothed per tick (time constant ``smoothing_s``).

Rendering at neutral controls equals :func:`atomsynth.rt.reference.render` within about
1e-6 of the peak (``precision="float32"``, the default: free-ringing modes in float32,
re-anchored from float64) or 1e-12 (``precision="float64"``), and gives bit-identical output
for every block partition: the kernels always render whole control ticks, keeping what goes
past a request for the next call.

Macros (``set_macro``): ``pitch`` (frequency ratio of every mode), ``time_stretch`` (ratio on
onset times), ``decay`` (ratio on every T60), ``brightness`` (beta: mode weights times
``beta ** log2(ratio_m) * exp(-0.5 (f_m / cutoff_hz)^2 (beta^-2 - 1))``, i.e. the spectral
tilt rises by ``6 log2(beta)`` dB per octave and the Gaussian cutoff moves by ``beta``) and
``master_gain_db``. Pitch, decay and brightness act on resonant atoms; MDCT atoms follow the
score clock (time stretch), the group gains and the master gain.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from atomsynth.rt import synth_kernels as K
from atomsynth.rt.atoms import AtomSet, ResonantAtoms
from atomsynth.rt.burst import burst, bursts, resonance_norm
from atomsynth.rt.edit_queue import check_atom_set_for, guarded
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.extent import burst_lengths, ceil_samples, onset_sample, tail_lengths
from atomsynth.rt.mdct import imdct_frames
from atomsynth.rt.modes import atom_modes, mode_triples
from atomsynth.rt.params import MAX_MODES, RESONANT_PARAMS
from atomsynth.rt.reference import LN1000, pan_gains

MACROS: dict[str, tuple[float, float, float]] = {
    # name: (low, high, neutral)
    "pitch": (1.0 / 16.0, 16.0, 1.0),
    "time_stretch": (0.05, 20.0, 1.0),
    "decay": (0.01, 100.0, 1.0),
    "brightness": (0.01, 100.0, 1.0),
    "master_gain_db": (-120.0, 24.0, 0.0),
}
"""Live macros: allowed range and neutral value."""

ATOM_EDITS = ("gain_db", "pan", "preset", "room", "wet", "mute", "solo")
"""Per-atom live parameters accepted by :meth:`StreamingSynth.set_atoms`."""

MAX_GROUPS = 65536
PREFETCH = 256
"""Atoms (in start order) whose modes are prepared in one vectorized pass."""
BURST_CACHE = 1 << 20
"""Samples of bursts kept for reuse (8 MiB)."""
_SPEC = {s.name: s for s in RESONANT_PARAMS}


def _check_range(name: str, value: float, lo: float, hi: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} = {value!r} is not a number; allowed [{lo}, {hi}]") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ParameterError(f"{name} = {value!r} is out of range; allowed [{lo}, {hi}]")
    return v


class _Rows:
    """A light, unvalidated view of some resonant atoms' columns (for :func:`atom_modes`)."""

    def __init__(self, cols: dict[str, np.ndarray], idx: np.ndarray, preset: np.ndarray) -> None:
        self._n = idx.size
        for k in ("f0_hz", "t60_s", "damping", "inharmonicity", "brightness", "cutoff_hz",
                  "n_modes"):
            setattr(self, k, cols[k][idx])
        self.preset = preset[idx]

    def __len__(self) -> int:
        return self._n


@dataclass
class _MdctScale:
    hop: int
    frames: np.ndarray  # unique frame numbers, sorted, int64
    starts: np.ndarray  # score sample of each frame's first sample: (t - 1) * hop
    ptr: np.ndarray  # CSR offsets into the atom arrays, (len(frames) + 1,)
    bins: np.ndarray
    chans: np.ndarray
    values: np.ndarray
    groups: np.ndarray
    next: int = 0


class StreamingSynth:
    """Block-by-block renderer of an atom set with sample-accurate scheduling and live edits.

    Parameters
    ----------
    atom_set : AtomSet
    sample_rate : int, optional
        Output rate in Hz (default: the set's). Sets with MDCT atoms play only at their native
        rate.
    max_block : int
        Largest ``count`` accepted by :meth:`render`.
    n_rooms : int, optional
        Room buses to provide (default: the set's ``room_names``, at least the largest room
        index + 1).
    smoothing_s : float
        Time constant of control smoothing in seconds.
    precision : {"float32", "float64"}
        ``"float32"`` (default): free-ringing modes (after their burst) run in float32, twice
        the vector lanes, re-anchored every :data:`~atomsynth.rt.synth_kernels.ANCHOR`
        samples from the exact float64 state (output within about 1e-5 of the reference's
        peak); free-ringing atoms with steady controls (and no room send) are rendered
        together in one steady bank (see :mod:`~atomsynth.rt.synth_kernels`).
        ``"float64"``: float64 throughout, no bank (within about 1e-12).
    """

    def __init__(self, atom_set: AtomSet, *, sample_rate: int | None = None,
                 max_block: int = 8192, n_rooms: int | None = None,
                 smoothing_s: float = 0.005, precision: str = "float32") -> None:
        if not isinstance(atom_set, AtomSet):
            raise ParameterError(f"atom_set must be an AtomSet, got {type(atom_set).__name__}")
        sr = atom_set.sample_rate if sample_rate is None else sample_rate
        if not isinstance(sr, (int, np.integer)) or not 8000 <= sr <= 384000:
            raise ParameterError(f"sample_rate = {sr!r} is out of range; allowed [8000, 384000] Hz")
        if not isinstance(max_block, (int, np.integer)) or not 1 <= max_block <= 1 << 20:
            raise ParameterError(f"max_block = {max_block!r} is out of range; allowed [1, 1048576]")
        if precision not in ("float32", "float64"):
            raise ParameterError(f"precision = {precision!r} is unknown; allowed 'float32', "
                                 "'float64'")
        self.precision = precision
        self._use32 = precision == "float32"
        self.sample_rate = int(sr)
        self.max_block = int(max_block)
        self.channels = atom_set.channels
        self._smoothing_s = _check_range("smoothing_s", smoothing_s, 1e-4, 1.0)
        self._alpha = 1.0 - math.exp(-K.TICK / (self._smoothing_s * self.sample_rate))
        rooms = len(atom_set.room_names)
        if len(atom_set.resonant):
            rooms = max(rooms, int(atom_set.resonant.room.max()) + 1)
        self.n_rooms = rooms if n_rooms is None else max(int(n_rooms), rooms)
        # transport / clock
        self._kpos = 0  # absolute sample counter of the kernels (a multiple of TICK)
        self._opos = 0  # samples delivered by render(); _kpos - _opos are in the carry
        self._n_anchor = 0
        self._s_anchor = 0.0
        self._stretch = 1.0
        self._loop: tuple[int, int] | None = None
        self._pending: list[tuple[int, int, Callable[[], None]]] = []
        self._edit_counter = 0
        self.edit_errors: deque[str] = deque(maxlen=64)  # edits that raised and were dropped
        self._latest_set = atom_set  # the set in force once every queued edit has applied
        # macros
        self._mac_cur = np.zeros(K.N_MACROS)
        self._mac_tgt = np.zeros(K.N_MACROS)
        self._mac_cur[K.MAC_MASTER] = self._mac_tgt[K.MAC_MASTER] = 1.0
        self._mac_prev = np.zeros(2 * K.N_MACROS)
        self._mac_prev[0] = self._mac_prev[1] = 1.0
        self._master_db = 0.0
        self._gate = 1.0
        # groups
        self._g_gain = np.ones(MAX_GROUPS)
        self._g_pan = np.zeros(MAX_GROUPS)
        self._g_mute = np.zeros(MAX_GROUPS, np.bool_)
        self._g_solo = np.zeros(MAX_GROUPS, np.bool_)
        self._g_send = np.ones(MAX_GROUPS)
        # buffers
        # kernels render whole ticks into _out; what goes past the request waits in _carry
        self._out = np.zeros((1 + self.n_rooms, self.channels, self.max_block + K.TICK))
        self._res = np.zeros((1 + self.n_rooms, self.channels, self.max_block))
        self._carry = np.zeros((1 + self.n_rooms, self.channels, K.TICK))
        self._ybuf = np.zeros(K.TICK)
        self._mhist = np.zeros(((self.max_block + 2 * K.TICK) // K.TICK + 4, 6))
        cap = 1 << int(math.ceil(math.log2(self.max_block + K.TICK + 2 * 8192 + 1)))
        self._ring = np.zeros((self.channels, cap))
        self._bpool = np.zeros(1 << 16)
        self._bursts: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._burst_samples = 0
        self._bcursor = 0
        self._ictl = np.zeros(2, np.int64)  # [n active, n free]
        # steady bank (free-ringing modes of all atoms with steady controls, one long loop)
        self._bctl = np.zeros(3, np.int64)  # [entries used, unused, last anchor sample]
        self._alloc_bank(1024)
        self._alloc_slots(16)
        self.underruns_slots = 0
        self._load(atom_set, initial=True)

    # ------------------------------------------------------------------ state allocation
    def _alloc_slots(self, cap: int) -> None:
        old = getattr(self, "_cap", 0)
        M = MAX_MODES
        specs = {
            "_t0": ((cap,), np.int64), "_life": ((cap,), np.int64), "_tail": ((cap,), np.int64),
            "_boff": ((cap,), np.int64), "_blen": ((cap,), np.int64),
            "_mixw": ((cap,), np.float64), "_nmod": ((cap,), np.int64),
            "_room": ((cap,), np.int64), "_kill": ((cap,), np.bool_),
            "_sA": ((cap,), np.float64), "_sB": ((cap,), np.float64),
            "_sT": ((cap,), np.float64), "_slot_atom": ((cap,), np.int64),
            "_gA": ((cap, 2), np.float64), "_gB": ((cap, 2), np.float64),
            "_gT": ((cap, 2), np.float64),
            "_anc": ((cap,), np.int64), "_on32": ((cap,), np.bool_),
            "_inb": ((cap,), np.int64), "_bix": ((cap, M), np.int64),
            "_q32": ((cap, 5, M), np.float32), "_pa": ((cap, 2, M), np.float64),
        }
        for name in ("_om0", "_lr0", "_w0", "_fc2", "_lg2", "_pre", "_pim", "_sre", "_sim",
                     "_w"):
            specs[name] = ((cap, M), np.float64)
        for name, (shape, dtype) in specs.items():
            new = np.zeros(shape, dtype)
            if name == "_inb":
                new[:] = -1  # not in the steady bank
            if old:
                new[:old] = getattr(self, name)
            setattr(self, name, new)
        active = np.zeros(cap, np.int64)
        free = np.zeros(cap, np.int64)
        if old:
            na, nf = int(self._ictl[0]), int(self._ictl[1])
            active[:na] = self._active[:na]
            free[:nf] = self._free[:nf]
        # new slots go on the free stack (lowest number on top)
        extra = np.arange(cap - 1, old - 1, -1, dtype=np.int64)
        nf = int(self._ictl[1])
        free[nf : nf + extra.size] = extra
        self._ictl[1] = nf + extra.size
        self._active, self._free = active, free
        self._cap = cap

    def _alloc_bank(self, cap: int) -> None:
        # chunk-major (chunks, rows, BANK_CHUNK): the kernels' mode loops start at 0
        old = getattr(self, "_bf", None)
        ch = -(-cap // K.BANK_CHUNK)
        bf = np.zeros((ch, K.BANK_ROWS32, K.BANK_CHUNK), np.float32)
        bd = np.zeros((ch, K.BANK_ROWS64, K.BANK_CHUNK))
        bsl = np.full((2, ch * K.BANK_CHUNK), -1, np.int64)
        if old is not None:
            oc = old.shape[0]
            bf[:oc] = old
            bd[:oc] = self._bd
            bsl[:, : self._bsl.shape[1]] = self._bsl
        self._bf, self._bd, self._bsl = bf, bd, bsl

    def _evict(self, slots: np.ndarray) -> None:
        """Take ``slots`` out of the steady bank (before their modes or poles change here)."""
        for s in slots[self._inb[slots] >= 0]:
            K.bank_leave(int(s), self._kpos, self._t0, self._nmod, self._pre, self._pim,
                         self._sre, self._sim, self._anc, self._on32, self._bf, self._bd,
                         self._bsl, self._bctl, self._inb, self._bix)

    def _take_slot(self) -> int:
        if self._ictl[1] == 0:
            self._alloc_slots(self._cap * 2)
        self._ictl[1] -= 1
        return int(self._free[self._ictl[1]])

    def _arena_alloc(self, need: int) -> int:
        if self._bcursor + need > self._bpool.size:
            na = int(self._ictl[0])
            slots = self._active[:na]
            slots = slots[np.argsort(self._boff[slots], kind="stable")]
            self._bcursor = int(K.compact_arena(self._bpool, self._boff, self._blen, self._t0,
                                                slots, self._kpos))
            if self._bcursor + need > self._bpool.size:
                size = 1 << int(math.ceil(math.log2(2 * (self._bcursor + need))))
                pool = np.zeros(size)
                pool[: self._bcursor] = self._bpool[: self._bcursor]
                self._bpool = pool
        off = self._bcursor
        self._bcursor += need
        return off

    # ------------------------------------------------------------------ loading a set
    def _load(self, atom_set: AtomSet, *, initial: bool) -> None:
        if len(atom_set.mdct) and self.sample_rate != atom_set.sample_rate:
            raise ParameterError(
                f"sample_rate = {self.sample_rate} differs from the set's native rate "
                f"{atom_set.sample_rate} Hz; sets with MDCT atoms play only at their native "
                "rate (render offline with resampling instead)")
        if atom_set.channels != self.channels:
            raise ParameterError(f"atom set has {atom_set.channels} channel(s); the synth was "
                                 f"built for {self.channels}")
        if len(atom_set.room_names) > self.n_rooms or (
                len(atom_set.resonant) and atom_set.resonant.room.max() >= self.n_rooms):
            raise ParameterError(f"atom set needs more rooms than the synth's {self.n_rooms}")
        self.atom_set = atom_set
        res = atom_set.resonant
        sr = float(self.sample_rate)
        n = len(res)
        self._cols = res.columns
        self._bkeys: list[tuple] | None = None
        self._start_k = onset_sample(res.onset_s, sr)
        self._order = np.argsort(self._start_k, kind="stable")
        self._starts_sorted = self._start_k[self._order]
        self._blen_a = burst_lengths(res, sr) if n else np.zeros(0, np.int64)
        tails = np.zeros(n, np.int64)
        for c0 in range(0, n, 4096):
            part = res.select(slice(c0, c0 + 4096))
            tails[c0 : c0 + len(part)] = tail_lengths(part, atom_set.mode_tables, sr)
        self._tail_a = tails
        self._a_gain = 10.0 ** (res.gain_db / 20.0)
        self._a_pan = res.pan.copy()
        self._a_room = res.room.astype(np.int64)
        self._a_wet = res.wet.copy()
        self._a_preset = res.preset.astype(np.int64)
        self._a_mute = np.zeros(n, np.bool_)
        self._a_solo = np.zeros(n, np.bool_)
        self._a_group = res.group.astype(np.int64)
        self._tables = atom_set.mode_tables
        self._pf_row = np.full(n, -1, np.int64)  # atom -> row of the mode prefetch window
        self._pf_atoms: np.ndarray | None = None
        self._pf: dict[str, np.ndarray] = {}
        # MDCT
        self._scales: list[_MdctScale] = []
        md = atom_set.mdct
        for scale in np.unique(md.scale) if len(md) else []:
            sel = np.flatnonzero(md.scale == scale)
            fr = md.frame[sel].astype(np.int64)
            o = np.argsort(fr, kind="stable")
            sel, fr = sel[o], fr[o]
            uniq, first = np.unique(fr, return_index=True)
            hop = int(scale) // 2
            self._scales.append(_MdctScale(
                hop=hop, frames=uniq, starts=(uniq - 1) * hop,
                ptr=np.append(first, fr.size).astype(np.int64),
                bins=md.bin[sel].astype(np.int64), chans=md.channel[sel].astype(np.int64),
                values=md.value[sel].astype(np.float64), groups=md.group[sel].astype(np.int64)))
        self._any_solo = bool(self._g_solo.any())
        if initial:
            self._reposition(0.0, kill=False)

    # ------------------------------------------------------------------ clock
    def score_at(self, n: int) -> float:
        """Score position (in samples of the set's timeline) at output sample ``n``."""
        if self._stretch == 1.0:
            return self._s_anchor + (n - self._n_anchor)
        return self._s_anchor + (n - self._n_anchor) / self._stretch

    def _out_start(self, k: float) -> int:
        """First output sample whose score position reaches ``k``."""
        if self._stretch == 1.0:
            return self._n_anchor + int(math.ceil(k - self._s_anchor))
        return self._n_anchor + int(math.ceil((k - self._s_anchor) * self._stretch))

    @property
    def position_s(self) -> float:
        """Score position of the next sample to render, in seconds."""
        return self.score_at(self._opos) / self.sample_rate

    @property
    def atoms_playing(self) -> int:
        return int(self._ictl[0])

    @property
    def finished(self) -> bool:
        """True when nothing sounds and no atom or frame is left to start (no loop)."""
        if self._loop is not None or self._ictl[0] or self._kpos > self._opos:
            return False
        if self._next < self._order.size:
            return False
        if any(sc.next < sc.frames.size for sc in self._scales):
            return False
        # MDCT ring drained: the last frame ends 2N after its start
        last = max((int(sc.starts[-1]) + 2 * sc.hop for sc in self._scales), default=0)
        return self.score_at(self._kpos) >= last

    @property
    def position(self) -> int:
        """Absolute output sample counter: samples delivered by :meth:`render` so far."""
        return self._opos

    # ------------------------------------------------------------------ edits (render thread)
    def _schedule(self, at: int | None, fn: Callable[[], None]) -> None:
        at = self._opos if at is None else max(int(at), self._opos)
        tick = max(-(-at // K.TICK) * K.TICK, self._kpos)
        self._edit_counter += 1
        self._pending.append((tick, self._edit_counter, guarded(fn, self.edit_errors)))
        self._pending.sort(key=lambda e: (e[0], e[1]))

    def set_macro(self, name: str, value: float, *, at: int | None = None) -> None:
        """Set a macro (see the module); takes effect on the first tick at or after ``at``."""
        self._schedule(at, self.prepare_macro(name, value))

    def prepare_macro(self, name: str, value: float) -> Callable[[], None]:
        """Validate a macro change now; return the edit to run in the render thread."""
        if name not in MACROS:
            raise ParameterError(f"macro {name!r} is unknown; known: {sorted(MACROS)}")
        lo, hi, _ = MACROS[name]
        v = _check_range(name, value, lo, hi)

        def apply() -> None:
            if name == "pitch":
                self._mac_tgt[K.MAC_PITCH] = math.log(v)
            elif name == "decay":
                self._mac_tgt[K.MAC_DECAY] = math.log(v)
            elif name == "brightness":
                self._mac_tgt[K.MAC_BRIGHT] = math.log(v)
            elif name == "master_gain_db":
                self._master_db = v
                self._set_master()
            elif name == "time_stretch":
                s_now = self.score_at(self._kpos)
                self._n_anchor, self._s_anchor, self._stretch = self._kpos, s_now, v

        return apply

    def set_gate(self, on: bool, *, at: int | None = None) -> None:
        """Fade the whole output out (``False``) or back in (``True``), smoothed."""
        self._schedule(at, self.prepare_gate(on))

    def prepare_gate(self, on: bool) -> Callable[[], None]:
        def apply() -> None:
            self._gate = 1.0 if on else 0.0
            self._set_master()

        return apply

    def _set_master(self) -> None:
        self._mac_tgt[K.MAC_MASTER] = 10.0 ** (self._master_db / 20.0) * self._gate

    @property
    def silent(self) -> bool:
        """True when the master gain (gate included) has reached 0."""
        return self._mac_prev[0] == 0.0 and self._mac_prev[1] == 0.0

    def set_group(self, group: int, *, gain_db: float | None = None, pan: float | None = None,
                  mute: bool | None = None, solo: bool | None = None,
                  room_send: float | None = None, at: int | None = None) -> None:
        """Live group controls: gain (dB), pan offset, mute, solo, room send factor [0, 4]."""
        self._schedule(at, self.prepare_group(group, gain_db=gain_db, pan=pan, mute=mute,
                                              solo=solo, room_send=room_send))

    def prepare_group(self, group: int, *, gain_db: float | None = None,
                      pan: float | None = None, mute: bool | None = None,
                      solo: bool | None = None, room_send: float | None = None
                      ) -> Callable[[], None]:
        g = int(_check_range("group", group, 0, MAX_GROUPS - 1))
        if float(group) != g:
            raise ParameterError(f"group = {group!r} must be an integer in [0, {MAX_GROUPS - 1}]")
        vals = {}
        if gain_db is not None:
            vals["gain"] = 10.0 ** (_check_range("gain_db", gain_db, -120.0, 24.0) / 20.0)
        if pan is not None:
            vals["pan"] = _check_range("pan", pan, -2.0, 2.0)
        if room_send is not None:
            vals["send"] = _check_range("room_send", room_send, 0.0, 4.0)

        def apply() -> None:
            if "gain" in vals:
                self._g_gain[g] = vals["gain"]
            if "pan" in vals:
                self._g_pan[g] = vals["pan"]
            if "send" in vals:
                self._g_send[g] = vals["send"]
            if mute is not None:
                self._g_mute[g] = bool(mute)
            if solo is not None:
                self._g_solo[g] = bool(solo)
            self._any_solo = bool(self._g_solo.any() or self._a_solo.any())
            self._refresh_targets(self._active[: self._ictl[0]])

        return apply

    def set_atoms(self, indices: Sequence[int] | np.ndarray, *, at: int | None = None,
                  **params: float) -> None:
        """Live edits of resonant atoms ``indices``: gain_db, pan, preset, room, wet, mute, solo.

        Sounding atoms follow within one tick (gains smoothed); a preset swap re-tunes a
        sounding atom's modes and keeps their state.
        """
        self._schedule(at, self.prepare_atoms(indices, **params))

    def prepare_atoms(self, indices: Sequence[int] | np.ndarray, **params: float
                      ) -> Callable[[], None]:
        n = len(self._latest_set.resonant)  # checked against the set in force when it applies
        idx = np.atleast_1d(np.asarray(indices))
        if idx.dtype.kind not in "iu" or (idx.size and (idx.min() < 0 or idx.max() >= n)):
            raise ParameterError(f"indices must be integers in [0, {n - 1}] (resonant atoms)")
        unknown = sorted(set(params) - set(ATOM_EDITS))
        if unknown:
            raise ParameterError(f"unknown atom parameter(s) {unknown}; allowed {ATOM_EDITS}")
        vals: dict[str, np.ndarray] = {}
        for k, v in params.items():
            arr = np.broadcast_to(np.asarray(v), idx.shape)
            if k in ("mute", "solo"):
                vals[k] = arr.astype(np.bool_)
                continue
            if k == "preset":
                lo, hi = -1, len(self._latest_set.mode_tables) - 1
            elif k == "room":
                lo, hi = -1, self.n_rooms - 1
            else:
                lo, hi = _SPEC[k].lo, _SPEC[k].hi
            a = arr.astype(np.float64)
            if not np.isfinite(a).all() or (a < lo).any() or (a > hi).any():
                bad = a[~(np.isfinite(a) & (a >= lo) & (a <= hi))][0]
                raise ParameterError(f"{k} = {bad!r} is out of range; allowed [{lo}, {hi}]")
            vals[k] = a

        def apply() -> None:
            if idx.size and idx.max() >= len(self._a_gain):  # a smaller set came in between
                raise ParameterError(f"atom index {int(idx.max())} outside the "
                                     f"{len(self._a_gain)} resonant atoms now in force")
            if "preset" in vals and vals["preset"].max(initial=-1) >= len(self._tables):
                raise ParameterError(f"preset {int(vals['preset'].max())} outside the "
                                     f"{len(self._tables)} mode tables now in force")
            if "gain_db" in vals:
                self._a_gain[idx] = 10.0 ** (vals["gain_db"] / 20.0)
            if "pan" in vals:
                self._a_pan[idx] = vals["pan"]
            if "room" in vals:
                self._a_room[idx] = vals["room"].astype(np.int64)
            if "wet" in vals:
                self._a_wet[idx] = vals["wet"]
            if "mute" in vals:
                self._a_mute[idx] = vals["mute"]
            if "solo" in vals:
                self._a_solo[idx] = vals["solo"]
                self._any_solo = bool(self._g_solo.any() or self._a_solo.any())
            na = int(self._ictl[0])
            act = self._active[:na]
            if "preset" in vals:
                self._a_preset[idx] = vals["preset"].astype(np.int64)
                self._pf_row[idx] = -1  # prefetched modes are stale
                hit = act[np.isin(self._slot_atom[act], idx)]
                if hit.size:
                    self._retune(hit)
            if "solo" in vals:
                self._refresh_targets(act)
            else:
                self._refresh_targets(act[np.isin(self._slot_atom[act], idx)])

        return apply

    def set_atom_set(self, atom_set: AtomSet, *, at: int | None = None) -> None:
        """Swap in an edited set; the transport position is kept.

        With the same number of resonant atoms, sounding atoms take the new gains, pans,
        sends and modes smoothly (their oscillator state is kept); otherwise they ring out
        with their old parameters. Atoms not yet started use the new set.
        """
        self._schedule(at, self.prepare_atom_set(atom_set))

    def prepare_atom_set(self, atom_set: AtomSet) -> Callable[[], None]:
        check_atom_set_for(atom_set, sample_rate=self.sample_rate, channels=self.channels,
                           n_rooms=self.n_rooms)
        self._latest_set = atom_set

        def apply() -> None:
            same = len(atom_set.resonant) == len(self._a_gain)
            old_cols = self._cols
            self._load(atom_set, initial=False)
            na = int(self._ictl[0])
            act = self._active[:na]
            if not same:
                self._slot_atom[act] = -1
            else:
                modal = ("f0_hz", "t60_s", "damping", "inharmonicity", "brightness",
                         "cutoff_hz", "n_modes", "preset", "mix", "attack_s", "burst_shape",
                         "noise_bw_hz")
                ai = self._slot_atom[act]
                changed = np.zeros(act.size, np.bool_)
                for k in modal:
                    changed |= old_cols[k][ai] != self._cols[k][ai]
                if changed.any():
                    self._retune(act[changed])
                self._refresh_targets(act)
            s_now = self.score_at(self._kpos)
            self._next = int(np.searchsorted(self._starts_sorted, s_now, "left"))
            for sc in self._scales:
                sc.next = int(np.searchsorted(sc.starts, s_now, "left"))

        return apply

    def seek(self, seconds: float, *, at: int | None = None) -> None:
        """Jump to ``seconds`` on the score: sounding atoms fade out (one smoothing time),
        atoms sounding at the new position start there mid-way."""
        self._schedule(at, self.prepare_seek(seconds))

    def prepare_seek(self, seconds: float) -> Callable[[], None]:
        s = _check_range("seek seconds", seconds, 0.0, 86400.0)
        return lambda: self._reposition(s, kill=True)

    def set_loop(self, start_s: float | None, end_s: float | None = None) -> None:
        """Loop the score region [start_s, end_s) (``None`` clears the loop); immediate."""
        self.prepare_loop(start_s, end_s)()

    def prepare_loop(self, start_s: float | None, end_s: float | None = None
                     ) -> Callable[[], None]:
        if start_s is None:
            return lambda: setattr(self, "_loop", None)
        a = _check_range("loop start_s", start_s, 0.0, 86400.0)
        b = _check_range("loop end_s", end_s, 0.0, 86400.0) if end_s is not None else None
        if b is None or b <= a:
            raise ParameterError(f"loop end_s = {end_s!r} must be greater than start_s = {a}")
        ka = int(onset_sample(a, self.sample_rate))
        kb = int(onset_sample(b, self.sample_rate))
        if kb <= ka:
            raise ParameterError("loop region is shorter than one sample")
        return lambda: setattr(self, "_loop", (ka, kb))

    def run_pending(self) -> None:
        """Apply every queued edit now (at the current position) and jump all smoothed
        controls to their targets: for setting up an offline render before sample 0."""
        while self._pending:
            self._pending.pop(0)[2]()
        self._mac_cur[:] = self._mac_tgt
        self._mac_prev[0] = self._mac_prev[1] = self._mac_tgt[K.MAC_MASTER]
        self._mac_prev[2:5] = self._mac_cur[:3]
        na = int(self._ictl[0])
        act = self._active[:na]
        self._evict(act)
        for s in act:
            K.slot_to_f64(int(s), self._nmod, self._sre, self._sim, self._q32, self._on32)
            K.slot_poles(int(s), self._mac_cur, self._nmod, self._om0, self._lr0, self._w0,
                         self._fc2, self._lg2, self._pre, self._pim, self._w, self._q32,
                         self._pa)
        self._gA[act] = self._gB[act] = self._gT[act]
        self._sA[act] = self._sB[act] = self._sT[act]

    # ------------------------------------------------------------------ slots
    def _mode_params(self, idx: np.ndarray):
        rows = _Rows(self._cols, idx, self._a_preset)
        bank = atom_modes(rows, self._tables, float(self.sample_rate))
        ratio, _, _, _ = mode_triples(rows, self._tables)
        return bank, ratio

    def _prepare_modes(self, idx: np.ndarray) -> None:
        """Compute the base mode arrays of atoms ``idx`` plus the next atoms in start order
        (:data:`PREFETCH` of them) in one vectorized pass, into the prefetch window."""
        nxt = self._order[self._next : self._next + PREFETCH]
        batch = np.unique(np.concatenate([idx, nxt]))
        old = self._pf_atoms
        if old is not None:
            self._pf_row[old] = -1
        sr = float(self.sample_rate)
        bank, ratio = self._mode_params(batch)
        c = self._cols
        B, M = batch.size, MAX_MODES
        # active modes first (in mode order), zero padding after
        order = np.argsort(~bank.active, axis=1, kind="stable")
        act = np.take_along_axis(bank.active, order, axis=1)
        amp = np.take_along_axis(bank.amp, order, axis=1)
        f = np.take_along_axis(bank.freq_hz, order, axis=1)
        t60 = np.take_along_axis(bank.t60_s, order, axis=1)
        rat = np.take_along_axis(ratio, order, axis=1)
        nmod = act.sum(axis=1).astype(np.int64)
        mix = c["mix"][batch].astype(np.float64)
        nmod[mix >= 1.0] = 0
        norm = np.zeros(B)
        for j in np.flatnonzero(nmod):
            i = batch[j]
            norm[j] = resonance_norm(amp[j, : nmod[j]], attack_s=float(c["attack_s"][i]),
                                     burst_shape=float(c["burst_shape"][i]),
                                     noise_bw_hz=float(c["noise_bw_hz"][i]))
        live = np.arange(M)[None, :] < nmod[:, None]
        zero = np.zeros((B, M))
        with np.errstate(divide="ignore", invalid="ignore"):
            self._pf = {
                "nmod": nmod, "mix": mix,
                "w0": np.where(live, amp * ((1.0 - mix) * norm / sr)[:, None], zero),
                "om0": np.where(live, 2.0 * np.pi * f / sr, zero),
                "lr0": np.where(live, -LN1000 / (t60 * sr), zero),
                "fc2": np.where(live, (f / c["cutoff_hz"][batch][:, None]) ** 2, zero),
                "lg2": np.where(live, np.log2(rat), zero),
            }
        self._pf_atoms = batch
        self._pf_row[batch] = np.arange(B)
        self._prefetch_bursts(batch)

    def _burst_key(self, i: int) -> tuple:
        if self._bkeys is None:  # every atom's burst parameters, as Python numbers, once
            c = self._cols
            self._bkeys = list(zip(c["seed"].astype(np.int64).tolist(),
                                   c["attack_s"].astype(np.float64).tolist(),
                                   c["burst_shape"].astype(np.float64).tolist(),
                                   c["noise_hz"].astype(np.float64).tolist(),
                                   c["noise_bw_hz"].astype(np.float64).tolist(), strict=True))
        return self._bkeys[i]

    def _prefetch_bursts(self, batch: np.ndarray) -> None:
        """Compute the bursts of atoms ``batch`` that are not cached, in one batched pass."""
        keys = [self._burst_key(int(i)) for i in batch]
        miss = sorted({k for k in keys if k not in self._bursts})
        if not miss:
            return
        cols = np.array(miss, dtype=np.float64).T
        made = bursts(seed=cols[0].astype(np.int64), attack_s=cols[1], burst_shape=cols[2],
                      noise_hz=cols[3], noise_bw_hz=cols[4],
                      sample_rate=float(self.sample_rate))
        for k, b in zip(miss, made, strict=True):
            self._cache_burst(k, b)

    def _cache_burst(self, key: tuple, b: np.ndarray) -> None:
        self._bursts[key] = b
        self._burst_samples += b.size
        while self._burst_samples > BURST_CACHE and len(self._bursts) > 1:
            _, old = self._bursts.popitem(last=False)
            self._burst_samples -= old.size

    def _fill_modes(self, slots: np.ndarray, idx: np.ndarray) -> None:
        """Write the base mode arrays (frequencies, decays, weights) of ``slots``."""
        if (self._pf_row[idx] < 0).any():
            self._prepare_modes(idx)
        rows = self._pf_row[idx]
        pf = self._pf
        self._nmod[slots] = pf["nmod"][rows]
        self._mixw[slots] = pf["mix"][rows]
        for k in ("w0", "om0", "lr0", "fc2", "lg2"):
            getattr(self, "_" + k)[slots] = pf[k][rows]

    def _retune(self, slots: np.ndarray) -> None:
        """New modes for sounding ``slots`` (preset swap or edited set); states are kept."""
        slots = slots[self._slot_atom[slots] >= 0]
        if not slots.size:
            return
        self._evict(slots)
        old_n = self._nmod[slots].copy()
        self._fill_modes(slots, self._slot_atom[slots])
        for s, o in zip(slots, old_n, strict=True):
            K.slot_to_f64(int(s), self._nmod, self._sre, self._sim, self._q32, self._on32)
            m = self._nmod[s]
            if m > o:
                self._sre[s, o:m] = 0.0
                self._sim[s, o:m] = 0.0
            K.slot_poles(int(s), self._mac_cur, self._nmod, self._om0, self._lr0, self._w0,
                         self._fc2, self._lg2, self._pre, self._pim, self._w, self._q32,
                         self._pa)

    def _refresh_targets(self, slots: np.ndarray) -> None:
        slots = slots[self._slot_atom[slots] >= 0]
        if not slots.size:
            return
        ai = self._slot_atom[slots]
        grp = self._a_group[ai]
        audible = ~self._a_mute[ai] & ~self._g_mute[grp]
        if self._any_solo:
            audible &= self._a_solo[ai] | self._g_solo[grp]
        g = self._a_gain[ai] * self._g_gain[grp] * audible
        pan = self._a_pan[ai] if not self._g_pan[grp].any() else np.clip(
            self._a_pan[ai] + self._g_pan[grp], -1.0, 1.0)
        pg = pan_gains(pan, self.channels)
        self._gT[slots, 0] = g * pg[0]
        self._gT[slots, 1] = g * pg[1] if self.channels > 1 else 0.0
        room = self._a_room[ai]
        self._room[slots] = room
        self._sT[slots] = np.where(room >= 0, self._a_wet[ai] * self._g_send[grp], 0.0)
        self._kill[slots] = False

    def _burst(self, i: int) -> np.ndarray:
        """Atom ``i``'s burst, from a cache keyed by its burst parameters (loops, seeks and
        repeated atoms reuse it; the cache holds at most :data:`BURST_CACHE` samples)."""
        key = self._burst_key(i)
        b = self._bursts.get(key)
        if b is not None:
            self._bursts.move_to_end(key)
            return b
        b = burst(seed=key[0], attack_s=key[1], burst_shape=key[2], noise_hz=key[3],
                  noise_bw_hz=key[4], sample_rate=float(self.sample_rate))
        self._cache_burst(key, b)
        return b

    def _start_atoms(self, idx: np.ndarray, t0: np.ndarray) -> None:
        """Start resonant atoms ``idx`` with local time 0 at output samples ``t0``."""
        if not idx.size:
            return
        k = idx.size
        while self._ictl[1] < k:
            self._alloc_slots(self._cap * 2)
        nf = int(self._ictl[1])
        slots = self._free[nf - k : nf][::-1].copy()  # popped from the free stack's top
        self._ictl[1] = nf - k
        self._slot_atom[slots] = idx
        self._fill_modes(slots, idx)
        now = self._kpos
        t0 = np.asarray(t0, np.int64)
        bl = [self._burst(int(i)) for i in idx]
        L = np.array([b.size for b in bl], np.int64)
        K.start_slots(slots, t0, L, self._tail_a[idx], now, self._mac_cur, self._nmod,
                      self._om0, self._lr0, self._w0, self._fc2, self._lg2, self._pre,
                      self._pim, self._w, self._q32, self._pa, self._sre, self._sim, self._t0,
                      self._blen, self._tail, self._life, self._on32, self._anc, self._inb)
        d = np.maximum(0, now - t0)
        for j in np.flatnonzero(d > 0):  # starting mid-way (seek): run the burst, jump with p^k
            s, dj, Lj = int(slots[j]), int(d[j]), int(L[j])
            K.advance_state(s, min(dj, Lj), bl[j], 0, self._nmod, self._pre, self._pim,
                            self._sre, self._sim)
            if dj > Lj:
                m = int(self._nmod[s])
                p = self._pre[s, :m] + 1j * self._pim[s, :m]
                z = (self._sre[s, :m] + 1j * self._sim[s, :m]) * np.exp(np.log(p) * (dj - Lj))
                self._sre[s, :m], self._sim[s, :m] = z.real, z.imag
        # unplayed burst samples go to the arena in one allocation
        rem = np.maximum(L - d, 0)
        total = int(rem.sum())
        off = self._arena_alloc(total) if total else 0
        self._boff[slots] = 0
        for j in np.flatnonzero(rem):
            r = int(rem[j])
            self._bpool[off : off + r] = bl[j][int(d[j]) :]
            self._boff[slots[j]] = off - int(d[j])
            off += r
        na = int(self._ictl[0])
        self._active[na : na + k] = slots
        self._ictl[0] = na + k
        self._kill[slots] = False
        self._refresh_targets(slots)
        self._gA[slots] = self._gT[slots]
        self._gB[slots] = self._gT[slots]
        self._sA[slots] = self._sT[slots]
        self._sB[slots] = self._sT[slots]

    # ------------------------------------------------------------------ repositioning
    def _reposition(self, seconds: float, *, kill: bool) -> None:
        sr = self.sample_rate
        s_new = float(onset_sample(seconds, sr))
        if kill:
            na = int(self._ictl[0])
            act = self._active[:na]
            self._kill[act] = True
            self._gT[act] = 0.0
            self._sT[act] = 0.0
            self._slot_atom[act] = -1
            # fade the MDCT ring out over 8 ticks
            fade = 8 * K.TICK
            cap = self._ring.shape[1]
            pos = np.arange(self._kpos, self._kpos + cap) % cap
            ramp = np.zeros(cap)
            ramp[:fade] = np.linspace(1.0, 0.0, fade + 1)[1:]
            self._ring[:, pos] *= ramp
        self._n_anchor, self._s_anchor = self._kpos, s_new
        # resonant atoms sounding at s_new start mid-way
        k = self._starts_sorted
        self._next = int(np.searchsorted(k, s_new, "left"))
        if self._next:
            cand = self._order[: self._next]
            ends = self._start_k[cand] + self._blen_a[cand] + self._tail_a[cand]
            live = cand[ends > s_new]
            if live.size:
                t0 = self._kpos - (s_new - self._start_k[live]).astype(np.int64)
                self._start_atoms(live, t0)
        # MDCT frames straddling s_new
        for sc in self._scales:
            sc.next = int(np.searchsorted(sc.starts, s_new, "left"))
            lo = int(np.searchsorted(sc.starts, s_new - 2 * sc.hop, "right"))
            if lo < sc.next:
                self._add_frames(sc, lo, sc.next, None)

    def _add_frames(self, sc: _MdctScale, f0: int, f1: int, outs: np.ndarray | None) -> None:
        """Synthesize frames ``f0:f1`` of a scale and overlap-add them into the ring."""
        a, b = int(sc.ptr[f0]), int(sc.ptr[f1])
        fidx = np.repeat(np.arange(f1 - f0), np.diff(sc.ptr[f0 : f1 + 1]))
        grp = sc.groups[a:b]
        audible = ~self._g_mute[grp]
        if self._any_solo:
            audible &= self._g_solo[grp]
        coeffs = np.zeros((self.channels, f1 - f0, sc.hop))
        np.add.at(coeffs, (sc.chans[a:b], fidx, sc.bins[a:b]),
                  sc.values[a:b] * self._g_gain[grp] * audible)
        blocks = imdct_frames(coeffs)
        for j in range(f1 - f0):
            start_score = int(sc.starts[f0 + j])
            if outs is None:  # partial frame around a reposition: aligned to the score
                t = self._kpos + (start_score - int(self._s_anchor))
            else:
                t = int(outs[j])
            first = max(0, self._kpos - t)
            K.ring_add(self._ring, t, np.ascontiguousarray(blocks[:, j]), first)

    # ------------------------------------------------------------------ rendering
    def render(self, count: int) -> np.ndarray:
        """Render the next ``count`` samples; returns a view ``(1 + rooms, channels, count)``
        valid until the next call (copy it to keep it).

        The kernels always run whole control ticks (they stop only on tick boundaries, at
        atom starts and ends and at loop wraps, none of which depends on ``count``); samples
        rendered past the request are kept for the next call. So the arithmetic of every
        sample, and the output, are the same for every partition into blocks.
        """
        if not 0 <= count <= self.max_block:
            raise ParameterError(f"count = {count} is out of range; allowed [0, {self.max_block}]")
        res = self._res[:, :, :count]
        have = self._kpos - self._opos
        c = min(have, count)
        if c:
            res[:, :, :c] = self._carry[:, :, :c]
            if c < have:
                self._carry[:, :, : have - c] = self._carry[:, :, c:have]
        need = count - c
        if need:
            total = -(-need // K.TICK) * K.TICK
            self._render_ticks(total)
            res[:, :, c:] = self._out[:, :, :need]
            rest = total - need
            if rest:
                self._carry[:, :, :rest] = self._out[:, :, need:total]
        self._opos += count
        return res

    def _render_ticks(self, count: int) -> None:
        """Render kernel samples [_kpos, _kpos + count) into ``_out[:, :, :count]``."""
        out = self._out
        out[:, :, :count] = 0.0
        pos0 = self._kpos
        end = pos0 + count
        while self._kpos < end:
            n = self._kpos
            sub_end = end
            if self._pending:
                at = self._pending[0][0]
                if at <= n:
                    _, _, fn = self._pending.pop(0)
                    fn()
                    continue
                sub_end = min(sub_end, at)
            if self._loop is not None:
                wrap = self._out_start(self._loop[1])
                if wrap <= n:
                    self._wrap()
                    continue
                sub_end = min(sub_end, wrap)
            self._render_range(n, sub_end, n - pos0)

    def _wrap(self) -> None:
        ka, _ = self._loop
        self._n_anchor, self._s_anchor = self._kpos, float(ka)
        self._next = int(np.searchsorted(self._starts_sorted, ka, "left"))
        for sc in self._scales:
            sc.next = int(np.searchsorted(sc.starts, ka, "left"))
            lo = int(np.searchsorted(sc.starts, ka - 2 * sc.hop, "right"))
            if lo < sc.next:
                self._add_frames(sc, lo, sc.next, None)

    def _render_range(self, n0: int, n1: int, oi: int) -> None:
        # resonant atoms starting in [n0, n1)
        order, k = self._order, self._start_k
        i = self._next
        stop = i
        while stop < order.size and self._out_start(k[order[stop]]) < n1:
            stop += 1
        if stop > i:
            idx = order[i:stop]
            t0 = np.array([max(self._out_start(k[j]), n0) for j in idx], np.int64)
            self._start_atoms(idx, t0)
            self._next = stop
        # MDCT frames starting in [n0, n1), added in (start, scale) order
        if self._scales:
            todo = []
            for si, sc in enumerate(self._scales):
                j = sc.next
                while j < sc.frames.size and self._out_start(sc.starts[j]) < n1:
                    j += 1
                if j > sc.next:
                    outs = np.array([max(self._out_start(x), n0) for x in sc.starts[sc.next:j]],
                                    np.int64)
                    todo.append((int(outs[0]), si, sc.next, j, outs))
                    sc.next = j
            if len(todo) > 1:
                # split per frame so that frames of different scales interleave by start
                items = []
                for _, si, f0, f1, outs in todo:
                    for q in range(f1 - f0):
                        items.append((int(outs[q]), si, f0 + q))
                items.sort()
                for t, si, f in items:
                    self._add_frames(self._scales[si], f, f + 1, np.array([t]))
            elif todo:
                _, si, f0, f1, outs = todo[0]
                self._add_frames(self._scales[si], f0, f1, outs)
            K.ring_take(self._ring, n0, n1 - n0, self._out[0], oi)
        na = int(self._ictl[0])
        if self._use32 and na:
            need = int(self._bctl[0]) + int(self._nmod[self._active[:na]].sum())
            if need > self._bsl.shape[1]:
                self._alloc_bank(1 << int(math.ceil(math.log2(need))))
        K.render_block(self._out, oi, n0, n1 - n0, self._active, self._ictl, self._mac_cur,
                       self._mac_tgt, self._mac_prev, self._alpha, self._t0, self._life,
                       self._tail, self._bpool, self._boff, self._blen, self._mixw, self._nmod,
                       self._om0, self._lr0, self._w0, self._fc2, self._lg2, self._pre,
                       self._pim, self._sre, self._sim, self._w, self._gA, self._gB, self._gT,
                       self._room, self._sA, self._sB, self._sT, self._kill, self._free,
                       self._ybuf, self._q32, self._pa, self._anc, self._on32, self._use32,
                       self._mhist, self._bf, self._bd, self._bsl, self._bctl, self._inb,
                       self._bix)
        self._kpos = n1

    # ------------------------------------------------------------------ offline helper
    def render_all(self, *, duration_s: float | None = None, block: int = 4096,
                   progress: Callable[[float], None] | None = None) -> np.ndarray:
        """Render ``duration_s`` (default the set's length) from the current position.

        Returns all buses, float64, shape ``(1 + rooms, channels, samples)``.
        """
        dur = self.atom_set.length_s if duration_s is None else duration_s
        total = ceil_samples(_check_range("duration_s", dur, 0.0, 86400.0), self.sample_rate)
        block = min(block, self.max_block)
        out = np.zeros((1 + self.n_rooms, self.channels, total))
        for a in range(0, total, block):
            b = min(a + block, total)
            out[:, :, a:b] = self.render(b - a)
            if progress is not None:
                progress(b / total)
        return out


def is_resonant_only(atom_set: AtomSet) -> bool:
    return len(atom_set.mdct) == 0 and isinstance(atom_set.resonant, ResonantAtoms)


__all__ = ["ATOM_EDITS", "MACROS", "StreamingSynth"]
