"""The streaming synthesizer: renders an atom set block by block, with live controls.

:class:`StreamingSynth` keeps a pool of *slots* (sounding resonant atoms) and an overlap-add
ring for MDCT frames. Each call of :meth:`StreamingSynth.render` produces the next ``count``
output samples as buses of shape ``(1 + rooms, channels, count)``: bus 0 is the dry mix, bus
``r + 1`` the send to room ``r`` (the effects bridge convolves it).

Its parts, each in its own module: the score clock (:mod:`~atomsynth.rt.synth_clock`), the
slot pool and the steady bank (:mod:`~atomsynth.rt.synth_pool`), the MDCT stream
(:mod:`~atomsynth.rt.synth_mdct`), their state as typed records
(:mod:`~atomsynth.rt.synth_state`) and the Numba kernels (:mod:`~atomsynth.rt.synth_kernels`).

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

Macros (``set_macro``) are defined in :mod:`atomsynth.rt.macros` (the one definition the bake
and the app use too): ``pitch`` scales every mode frequency and the Gaussian cutoff (bursts keep
their spectrum; MDCT bins move, for frames synthesized after the change), ``time_stretch``
scales the score clock, ``decay`` every T60, ``brightness`` the cutoff (mode weights times
``exp(-0.5 (f_m / cutoff_hz)^2 (beta^-2 - 1))``), all with the mode weights renormalized as the
reference does; ``master_gain_db`` the output. MDCT atoms follow the pitch, the score clock,
the group gains and the master gain.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from atomsynth.rt import synth_kernels as K
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.burst import burst, bursts, resonance_norm
from atomsynth.rt.edit_queue import check_atom_set_for, guarded
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.extent import burst_lengths, ceil_samples, onset_sample, tail_lengths
from atomsynth.rt.macros import macro
from atomsynth.rt.modes import atom_modes
from atomsynth.rt.params import MAX_MODES, RESONANT_PARAMS, check_sample_rate
from atomsynth.rt.reference import LN1000, pan_gains
from atomsynth.rt.synth_clock import ScoreClock
from atomsynth.rt.synth_mdct import MdctStream, ResampledMdct
from atomsynth.rt.synth_pool import SlotPool, SteadyBank
from atomsynth.rt.synth_state import new_controls, new_scratch

ATOM_EDITS = ("gain_db", "pan", "preset", "room", "wet", "mute", "solo")
"""Per-atom live parameters accepted by :meth:`StreamingSynth.set_atoms`."""

MAX_GROUPS = 65536
PREFETCH = 256
"""Atoms (in start order) whose modes are prepared in one vectorized pass."""
BURST_CACHE = 1 << 20
"""Samples of bursts kept for reuse (8 MiB)."""
_SPEC = {s.name: s for s in RESONANT_PARAMS}
_MODAL = ("f0_hz", "t60_s", "damping", "inharmonicity", "brightness", "cutoff_hz", "n_modes",
          "preset", "mix", "attack_s", "burst_shape", "noise_bw_hz")
"""Columns whose change re-tunes a sounding atom (an edited set of the same size)."""


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
        self.f0_hz = cols["f0_hz"][idx]
        self.t60_s = cols["t60_s"][idx]
        self.damping = cols["damping"][idx]
        self.inharmonicity = cols["inharmonicity"][idx]
        self.brightness = cols["brightness"][idx]
        self.cutoff_hz = cols["cutoff_hz"][idx]
        self.n_modes = cols["n_modes"][idx]
        self.preset = preset[idx]

    def __len__(self) -> int:
        return self._n


@dataclass
class GroupControls:
    """Live controls of every group id (stem): linear gain, pan offset, mute, solo, room
    send factor."""

    gain: np.ndarray = field(default_factory=lambda: np.ones(MAX_GROUPS))
    pan: np.ndarray = field(default_factory=lambda: np.zeros(MAX_GROUPS))
    mute: np.ndarray = field(default_factory=lambda: np.zeros(MAX_GROUPS, np.bool_))
    solo: np.ndarray = field(default_factory=lambda: np.zeros(MAX_GROUPS, np.bool_))
    send: np.ndarray = field(default_factory=lambda: np.ones(MAX_GROUPS))
    any_solo: bool = False


@dataclass
class _ModeWindow:
    """Base mode arrays of a window of atoms (the next ones in start order), one row each."""

    n_modes: np.ndarray
    dry_mix: np.ndarray
    weight0: np.ndarray
    omega0: np.ndarray
    log_radius0: np.ndarray
    cutoff_ratio2: np.ndarray


class StreamingSynth:
    """Block-by-block renderer of an atom set with sample-accurate scheduling and live edits.

    Parameters
    ----------
    atom_set : AtomSet
    sample_rate : int, optional
        Output rate in Hz (default: the set's). MDCT atoms of a set at another rate are
        synthesized on their native grid and resampled
        (:class:`~atomsynth.rt.synth_mdct.ResampledMdct`).
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
        check_sample_rate(sr)
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
        alpha = 1.0 - math.exp(-K.TICK / (self._smoothing_s * self.sample_rate))
        rooms = len(atom_set.room_names)
        if len(atom_set.resonant):
            rooms = max(rooms, int(atom_set.resonant.room.max()) + 1)
        self.n_rooms = rooms if n_rooms is None else max(int(n_rooms), rooms)
        # transport: the kernels render whole ticks up to _kernel_pos; render() has delivered
        # _out_pos samples, the rest waits in _carry
        self._kernel_pos = 0
        self._out_pos = 0
        self._clock = ScoreClock()
        self._pending: list[tuple[int, int, Callable[[], None]]] = []
        self._edit_counter = 0
        self.edit_errors: deque[str] = deque(maxlen=64)  # edits that raised and were dropped
        self._latest_set = atom_set  # the set in force once every queued edit has applied
        # controls
        self._controls = new_controls(alpha)
        self._master_db = 0.0
        self._gate = 1.0
        self._groups = GroupControls()
        # buffers
        n_bus = 1 + self.n_rooms
        self._out = np.zeros((n_bus, self.channels, self.max_block + K.TICK))
        self._res = np.zeros((n_bus, self.channels, self.max_block))
        self._carry = np.zeros((n_bus, self.channels, K.TICK))
        self._scratch = new_scratch(self.max_block)
        # parts
        self._mdct: MdctStream | ResampledMdct = MdctStream(self.channels, self.max_block)
        self._pool = SlotPool(16)
        self._bank = SteadyBank(1024)  # free-ringing modes of atoms with steady controls
        self._bursts: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._burst_samples = 0
        self._load(atom_set, initial=True)

    # ------------------------------------------------------------------ loading a set
    def _load(self, atom_set: AtomSet, *, initial: bool) -> None:
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
        self._burst_keys: list[tuple] | None = None
        self._onset = onset_sample(res.onset_s, sr)  # score sample of each atom's start
        self._start_order = np.argsort(self._onset, kind="stable")
        self._sorted_onsets = self._onset[self._start_order]
        self._burst_len = burst_lengths(res, sr) if n else np.zeros(0, np.int64)
        tails = np.zeros(n, np.int64)
        for c0 in range(0, n, 4096):
            part = res.select(slice(c0, c0 + 4096))
            tails[c0 : c0 + len(part)] = tail_lengths(part, atom_set.mode_tables, sr)
        self._tail_len = tails
        self._atom_gain = 10.0 ** (res.gain_db / 20.0)
        self._atom_pan = res.pan.copy()
        self._atom_room = res.room.astype(np.int64)
        self._atom_wet = res.wet.copy()
        self._atom_preset = res.preset.astype(np.int64)
        self._atom_mute = np.zeros(n, np.bool_)
        self._atom_solo = np.zeros(n, np.bool_)
        self._atom_group = res.group.astype(np.int64)
        self._tables = atom_set.mode_tables
        self._window_row = np.full(n, -1, np.int64)  # atom -> row of the mode window
        self._window_atoms: np.ndarray | None = None
        self._window: _ModeWindow | None = None
        native = atom_set.sample_rate
        if isinstance(self._mdct, ResampledMdct) != (native != self.sample_rate) or (
                native != self.sample_rate and self._mdct.native_rate != native):
            self._mdct = (MdctStream(self.channels, self.max_block) if native == self.sample_rate
                          else ResampledMdct(self.channels, native, self.sample_rate))
        self._mdct.load(atom_set.mdct)
        self._groups.any_solo = bool(self._groups.solo.any())
        if initial:
            self._next_atom = 0
            self._reposition(0.0, kill=False)

    # ------------------------------------------------------------------ clock
    def score_at(self, n: int) -> float:
        """Score position (in samples of the set's timeline) at output sample ``n``."""
        return self._clock.score_at(n)

    @property
    def position_s(self) -> float:
        """Score position of the next sample to render, in seconds."""
        return self.score_at(self._out_pos) / self.sample_rate

    @property
    def atoms_playing(self) -> int:
        return self._pool.n_active

    @property
    def modes_sounding(self) -> int:
        """Modes of the atoms playing (those rendered per sample)."""
        st = self._pool.state
        return int(st.n_modes[self._pool.active].sum())

    @property
    def modes_in_bank(self) -> int:
        """Modes in the steady bank (rendered together in one loop)."""
        return self._bank.n_entries

    # Old private names of the state, read by tests/test_synth_bank.py, kept read-only so that
    # those tests run unchanged; new code reads the records (self._pool.state, self._bank.state).
    @property
    def _bctl(self) -> np.ndarray:
        """``[modes in the bank, 0, last bank anchor]`` (use :attr:`modes_in_bank`)."""
        b = self._bank.state
        return np.array([b.n_entries[0], 0, b.anchor_sample[0]], np.int64)

    @property
    def _sre(self) -> np.ndarray:
        return self._pool.state.state_re

    @property
    def _sim(self) -> np.ndarray:
        return self._pool.state.state_im

    @property
    def _q32(self) -> np.ndarray:
        return self._pool.state.fast

    @property
    def _bf(self) -> np.ndarray:
        return self._bank.state.fast

    @property
    def _bd(self) -> np.ndarray:
        return self._bank.state.exact

    @property
    def slot_bytes(self) -> float:
        """Memory of the state per atom slot, in bytes."""
        return self._pool.bytes_per_slot

    @property
    def burst_arena_bytes(self) -> int:
        """Memory of the shared arena of unplayed burst samples, in bytes."""
        return self._pool.arena.nbytes

    @property
    def finished(self) -> bool:
        """True when nothing sounds and no atom or frame is left to start (no loop)."""
        if self._clock.loop is not None or self._pool.n_active \
                or self._kernel_pos > self._out_pos:
            return False
        if self._next_atom < self._start_order.size or self._mdct.pending:
            return False
        # MDCT ring drained: the last frame ends 2N after its start
        return self.score_at(self._kernel_pos) >= self._mdct.end_score

    @property
    def position(self) -> int:
        """Absolute output sample counter: samples delivered by :meth:`render` so far."""
        return self._out_pos

    # ------------------------------------------------------------------ edits (render thread)
    def schedule(self, edit: Callable[[], None], *, at: int | None = None) -> None:
        """Queue ``edit`` (a callable made by one of the ``prepare_*`` methods) to run on the
        first control tick at or after output sample ``at`` (default: the next sample).

        Call from the render thread (the thread that calls :meth:`render`)."""
        at = self._out_pos if at is None else max(int(at), self._out_pos)
        tick = max(-(-at // K.TICK) * K.TICK, self._kernel_pos)
        self._edit_counter += 1
        self._pending.append((tick, self._edit_counter, guarded(edit, self.edit_errors)))
        self._pending.sort(key=lambda e: (e[0], e[1]))

    def set_macro(self, name: str, value: float, *, at: int | None = None) -> None:
        """Set a macro (see the module); takes effect on the first tick at or after ``at``."""
        self.schedule(self.prepare_macro(name, value), at=at)

    def prepare_macro(self, name: str, value: float) -> Callable[[], None]:
        """Validate a macro change now; return the edit to run in the render thread."""
        v = macro(name).check(value)
        target = self._controls.macro_target

        def apply() -> None:
            if name == "pitch":
                target[K.MAC_PITCH] = math.log(v)
                self._mdct.pitch_ratio = v
            elif name == "decay":
                target[K.MAC_DECAY] = math.log(v)
            elif name == "brightness":
                target[K.MAC_BRIGHT] = math.log(v)
            elif name == "master_gain_db":
                self._master_db = v
                self._set_master()
            elif name == "time_stretch":
                self._clock.set_stretch(self._kernel_pos, v)

        return apply

    def set_gate(self, on: bool, *, at: int | None = None) -> None:
        """Fade the whole output out (``False``) or back in (``True``), smoothed."""
        self.schedule(self.prepare_gate(on), at=at)

    def prepare_gate(self, on: bool) -> Callable[[], None]:
        def apply() -> None:
            self._gate = 1.0 if on else 0.0
            self._set_master()

        return apply

    def _set_master(self) -> None:
        self._controls.macro_target[K.MAC_MASTER] = 10.0 ** (self._master_db / 20.0) * self._gate

    @property
    def silent(self) -> bool:
        """True when the master gain (gate included) has reached 0."""
        c = self._controls
        return c.master_start[0] == 0.0 and c.master_end[0] == 0.0

    def set_group(self, group: int, *, gain_db: float | None = None, pan: float | None = None,
                  mute: bool | None = None, solo: bool | None = None,
                  room_send: float | None = None, at: int | None = None) -> None:
        """Live group controls: gain (dB), pan offset, mute, solo, room send factor [0, 4]."""
        self.schedule(self.prepare_group(group, gain_db=gain_db, pan=pan, mute=mute, solo=solo,
                                         room_send=room_send), at=at)

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
        groups = self._groups

        def apply() -> None:
            if "gain" in vals:
                groups.gain[g] = vals["gain"]
            if "pan" in vals:
                groups.pan[g] = vals["pan"]
            if "send" in vals:
                groups.send[g] = vals["send"]
            if mute is not None:
                groups.mute[g] = bool(mute)
            if solo is not None:
                groups.solo[g] = bool(solo)
            self._update_any_solo()
            self._refresh_targets(self._pool.active)

        return apply

    def _update_any_solo(self) -> None:
        self._groups.any_solo = bool(self._groups.solo.any() or self._atom_solo.any())

    def set_atoms(self, indices: Sequence[int] | np.ndarray, *, at: int | None = None,
                  **params: float) -> None:
        """Live edits of resonant atoms ``indices``: gain_db, pan, preset, room, wet, mute, solo.

        Sounding atoms follow within one tick (gains smoothed); a preset swap re-tunes a
        sounding atom's modes and keeps their state.
        """
        self.schedule(self.prepare_atoms(indices, **params), at=at)

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
            if idx.size and idx.max() >= len(self._atom_gain):  # a smaller set came in between
                raise ParameterError(f"atom index {int(idx.max())} outside the "
                                     f"{len(self._atom_gain)} resonant atoms now in force")
            if "preset" in vals and vals["preset"].max(initial=-1) >= len(self._tables):
                raise ParameterError(f"preset {int(vals['preset'].max())} outside the "
                                     f"{len(self._tables)} mode tables now in force")
            if "gain_db" in vals:
                self._atom_gain[idx] = 10.0 ** (vals["gain_db"] / 20.0)
            if "pan" in vals:
                self._atom_pan[idx] = vals["pan"]
            if "room" in vals:
                self._atom_room[idx] = vals["room"].astype(np.int64)
            if "wet" in vals:
                self._atom_wet[idx] = vals["wet"]
            if "mute" in vals:
                self._atom_mute[idx] = vals["mute"]
            if "solo" in vals:
                self._atom_solo[idx] = vals["solo"]
                self._update_any_solo()
            act = self._pool.active
            playing = self._pool.state.atom[act]
            if "preset" in vals:
                self._atom_preset[idx] = vals["preset"].astype(np.int64)
                self._window_row[idx] = -1  # prepared modes are stale
                hit = act[np.isin(playing, idx)]
                if hit.size:
                    self._retune(hit)
            if "solo" in vals:
                self._refresh_targets(act)
            else:
                self._refresh_targets(act[np.isin(playing, idx)])

        return apply

    def set_atom_set(self, atom_set: AtomSet, *, at: int | None = None) -> None:
        """Swap in an edited set; the transport position is kept.

        With the same number of resonant atoms, sounding atoms take the new gains, pans,
        sends and modes smoothly (their oscillator state is kept); otherwise they ring out
        with their old parameters. Atoms not yet started use the new set.
        """
        self.schedule(self.prepare_atom_set(atom_set), at=at)

    def prepare_atom_set(self, atom_set: AtomSet) -> Callable[[], None]:
        check_atom_set_for(atom_set, sample_rate=self.sample_rate, channels=self.channels,
                           n_rooms=self.n_rooms)
        self._latest_set = atom_set

        def apply() -> None:
            same = len(atom_set.resonant) == len(self._atom_gain)
            old_cols = self._cols
            self._load(atom_set, initial=False)
            act = self._pool.active
            st = self._pool.state
            if not same:
                st.atom[act] = -1
            else:
                ai = st.atom[act]
                changed = np.zeros(act.size, np.bool_)
                for k in _MODAL:
                    changed |= old_cols[k][ai] != self._cols[k][ai]
                if changed.any():
                    self._retune(act[changed])
                self._refresh_targets(act)
            s_now = self.score_at(self._kernel_pos)
            self._next_atom = int(np.searchsorted(self._sorted_onsets, s_now, "left"))
            self._mdct.seek(s_now)

        return apply

    def seek(self, seconds: float, *, at: int | None = None) -> None:
        """Jump to ``seconds`` on the score: sounding atoms fade out (one smoothing time),
        atoms sounding at the new position start there mid-way."""
        self.schedule(self.prepare_seek(seconds), at=at)

    def prepare_seek(self, seconds: float) -> Callable[[], None]:
        s = _check_range("seek seconds", seconds, 0.0, 86400.0)
        return lambda: self._reposition(s, kill=True)

    def set_loop(self, start_s: float | None, end_s: float | None = None) -> None:
        """Loop the score region [start_s, end_s) (``None`` clears the loop); immediate."""
        self.prepare_loop(start_s, end_s)()

    def prepare_loop(self, start_s: float | None, end_s: float | None = None
                     ) -> Callable[[], None]:
        clock = self._clock
        if start_s is None:
            return lambda: setattr(clock, "loop", None)
        a = _check_range("loop start_s", start_s, 0.0, 86400.0)
        b = _check_range("loop end_s", end_s, 0.0, 86400.0) if end_s is not None else None
        if b is None or b <= a:
            raise ParameterError(f"loop end_s = {end_s!r} must be greater than start_s = {a}")
        ka = int(onset_sample(a, self.sample_rate))
        kb = int(onset_sample(b, self.sample_rate))
        if kb <= ka:
            raise ParameterError("loop region is shorter than one sample")
        return lambda: setattr(clock, "loop", (ka, kb))

    def run_pending(self) -> None:
        """Apply every queued edit now (at the current position) and jump all smoothed
        controls to their targets: for setting up an offline render before sample 0."""
        while self._pending:
            self._pending.pop(0)[2]()
        if self._kernel_pos == 0:  # nothing rendered: MDCT frames follow the controls
            self._mdct.restart(0, self._clock, self._groups)
        c = self._controls
        c.macro_now[:] = c.macro_target
        c.master_start[0] = c.master_end[0] = c.macro_target[K.MAC_MASTER]
        c.pole_macros[:] = c.macro_now[: c.pole_macros.size]
        act = self._pool.active
        st = self._pool.state
        self._bank.evict(st, act, self._kernel_pos)
        K.retune_slots(st, act.copy(), st.n_modes[act], c.macro_now)
        st.gain_start[act] = st.gain_end[act] = st.gain_target[act]
        st.send_start[act] = st.send_end[act] = st.send_target[act]

    # ------------------------------------------------------------------ modes and bursts
    def _prepare_modes(self, idx: np.ndarray) -> None:
        """Compute the base mode arrays of atoms ``idx`` plus the next atoms in start order
        (:data:`PREFETCH` of them) in one vectorized pass, into the mode window."""
        nxt = self._start_order[self._next_atom : self._next_atom + PREFETCH]
        batch = np.unique(np.concatenate([idx, nxt]))
        old = self._window_atoms
        if old is not None:
            self._window_row[old] = -1
        sr = float(self.sample_rate)
        rows = _Rows(self._cols, batch, self._atom_preset)
        bank = atom_modes(rows, self._tables, sr)
        c = self._cols
        B, M = batch.size, MAX_MODES
        # active modes first (in mode order), zero padding after
        order = np.argsort(~bank.active, axis=1, kind="stable")
        act = np.take_along_axis(bank.active, order, axis=1)
        amp = np.take_along_axis(bank.amp, order, axis=1)
        f = np.take_along_axis(bank.freq_hz, order, axis=1)
        t60 = np.take_along_axis(bank.t60_s, order, axis=1)
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
            self._window = _ModeWindow(
                n_modes=nmod, dry_mix=mix,
                weight0=np.where(live, amp * ((1.0 - mix) * norm / sr)[:, None], zero),
                omega0=np.where(live, 2.0 * np.pi * f / sr, zero),
                log_radius0=np.where(live, -LN1000 / (t60 * sr), zero),
                cutoff_ratio2=np.where(live, (f / c["cutoff_hz"][batch][:, None]) ** 2, zero))
        self._window_atoms = batch
        self._window_row[batch] = np.arange(B)
        self._prefetch_bursts(batch)

    def _burst_key(self, i: int) -> tuple:
        if self._burst_keys is None:  # every atom's burst parameters, as Python numbers, once
            c = self._cols
            self._burst_keys = list(zip(c["seed"].astype(np.int64).tolist(),
                                        c["attack_s"].astype(np.float64).tolist(),
                                        c["burst_shape"].astype(np.float64).tolist(),
                                        c["noise_hz"].astype(np.float64).tolist(),
                                        c["noise_bw_hz"].astype(np.float64).tolist(),
                                        strict=True))
        return self._burst_keys[i]

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

    # ------------------------------------------------------------------ slots
    def _fill_modes(self, slots: np.ndarray, idx: np.ndarray) -> None:
        """Write the base mode arrays (frequencies, decays, weights) of ``slots``."""
        if (self._window_row[idx] < 0).any():
            self._prepare_modes(idx)
        rows = self._window_row[idx]
        win = self._window
        st = self._pool.state
        st.n_modes[slots] = win.n_modes[rows]
        st.dry_mix[slots] = win.dry_mix[rows]
        st.weight0[slots] = win.weight0[rows]
        st.omega0[slots] = win.omega0[rows]
        st.log_radius0[slots] = win.log_radius0[rows]
        st.cutoff_ratio2[slots] = win.cutoff_ratio2[rows]

    def _retune(self, slots: np.ndarray) -> None:
        """New modes for sounding ``slots`` (preset swap or edited set); states are kept."""
        st = self._pool.state
        slots = slots[st.atom[slots] >= 0]
        if not slots.size:
            return
        self._bank.evict(st, slots, self._kernel_pos)
        old_n = st.n_modes[slots].copy()
        self._fill_modes(slots, st.atom[slots])
        K.retune_slots(st, slots, old_n, self._controls.macro_now)

    def _refresh_targets(self, slots: np.ndarray) -> None:
        """Gain, pan and send targets of sounding ``slots`` from the atom and group controls."""
        st = self._pool.state
        slots = slots[st.atom[slots] >= 0]
        if not slots.size:
            return
        groups = self._groups
        ai = st.atom[slots]
        grp = self._atom_group[ai]
        audible = ~self._atom_mute[ai] & ~groups.mute[grp]
        if groups.any_solo:
            audible &= self._atom_solo[ai] | groups.solo[grp]
        g = self._atom_gain[ai] * groups.gain[grp] * audible
        pan = self._atom_pan[ai] if not groups.pan[grp].any() else np.clip(
            self._atom_pan[ai] + groups.pan[grp], -1.0, 1.0)
        pg = pan_gains(pan, self.channels)
        st.gain_target[slots, 0] = g * pg[0]
        st.gain_target[slots, 1] = g * pg[1] if self.channels > 1 else 0.0
        room = self._atom_room[ai]
        st.room[slots] = room
        st.send_target[slots] = np.where(room >= 0, self._atom_wet[ai] * groups.send[grp], 0.0)
        st.killed[slots] = False

    def _start_atoms(self, idx: np.ndarray, t0: np.ndarray) -> None:
        """Start resonant atoms ``idx`` with local time 0 at output samples ``t0``."""
        if not idx.size:
            return
        slots = self._pool.take(idx.size)
        st = self._pool.state
        st.atom[slots] = idx
        self._fill_modes(slots, idx)
        now = self._kernel_pos
        t0 = np.asarray(t0, np.int64)
        bl = [self._burst(int(i)) for i in idx]
        L = np.array([b.size for b in bl], np.int64)
        K.start_slots_flat(slots, t0, L, self._tail_len[idx], now, self._controls.macro_now, *st)
        d = np.maximum(0, now - t0)
        for j in np.flatnonzero(d > 0):  # starting mid-way (seek): run the burst, jump with p^k
            s, dj, Lj = int(slots[j]), int(d[j]), int(L[j])
            K.advance_state(st, s, min(dj, Lj), bl[j], 0)
            if dj > Lj:
                m = int(st.n_modes[s])
                p = st.pole_re[s, :m] + 1j * st.pole_im[s, :m]
                z = (st.state_re[s, :m] + 1j * st.state_im[s, :m]) * np.exp(np.log(p) * (dj - Lj))
                st.state_re[s, :m], st.state_im[s, :m] = z.real, z.imag
        # unplayed burst samples go to the arena in one allocation
        rem = np.maximum(L - d, 0)
        total = int(rem.sum())
        off = self._pool.arena_alloc(total, now) if total else 0
        arena = self._pool.arena
        st.burst_offset[slots] = 0
        for j in np.flatnonzero(rem):
            r = int(rem[j])
            arena[off : off + r] = bl[j][int(d[j]) :]
            st.burst_offset[slots[j]] = off - int(d[j])
            off += r
        self._pool.activate(slots)
        st.killed[slots] = False
        self._refresh_targets(slots)
        st.gain_start[slots] = st.gain_target[slots]
        st.gain_end[slots] = st.gain_target[slots]
        st.send_start[slots] = st.send_target[slots]
        st.send_end[slots] = st.send_target[slots]

    # ------------------------------------------------------------------ repositioning
    def _reposition(self, seconds: float, *, kill: bool) -> None:
        s_new = float(onset_sample(seconds, self.sample_rate))
        if kill:
            act = self._pool.active
            st = self._pool.state
            st.killed[act] = True
            st.gain_target[act] = 0.0
            st.send_target[act] = 0.0
            st.atom[act] = -1
            self._mdct.fade_out(self._kernel_pos)
        self._clock.anchor(self._kernel_pos, s_new)
        # resonant atoms sounding at s_new start mid-way
        self._next_atom = int(np.searchsorted(self._sorted_onsets, s_new, "left"))
        if self._next_atom:
            cand = self._start_order[: self._next_atom]
            ends = self._onset[cand] + self._burst_len[cand] + self._tail_len[cand]
            live = cand[ends > s_new]
            if live.size:
                t0 = self._kernel_pos - (s_new - self._onset[live]).astype(np.int64)
                self._start_atoms(live, t0)
        # MDCT frames straddling s_new
        self._mdct.add_straddling(s_new, self._kernel_pos, self._clock, self._groups)

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
        have = self._kernel_pos - self._out_pos
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
        self._out_pos += count
        return res

    def _render_ticks(self, count: int) -> None:
        """Render kernel samples [_kernel_pos, _kernel_pos + count) into ``_out[:, :, :count]``,
        split where queued edits apply and where the loop wraps."""
        out = self._out
        out[:, :, :count] = 0.0
        pos0 = self._kernel_pos
        end = pos0 + count
        while self._kernel_pos < end:
            n = self._kernel_pos
            sub_end = end
            if self._pending:
                at = self._pending[0][0]
                if at <= n:
                    _, _, fn = self._pending.pop(0)
                    fn()
                    continue
                sub_end = min(sub_end, at)
            wrap = self._clock.wrap_sample()
            if wrap is not None:
                if wrap <= n:
                    self._wrap()
                    continue
                sub_end = min(sub_end, wrap)
            self._render_range(n, sub_end, n - pos0)

    def _wrap(self) -> None:
        ka, _ = self._clock.loop
        self._clock.anchor(self._kernel_pos, float(ka))
        self._next_atom = int(np.searchsorted(self._sorted_onsets, ka, "left"))
        self._mdct.wrap(float(ka), self._kernel_pos, self._clock, self._groups)

    def _start_due_atoms(self, n0: int, n1: int) -> None:
        """Start the resonant atoms whose start falls in output samples [n0, n1)."""
        order, onset, clock = self._start_order, self._onset, self._clock
        i = self._next_atom
        stop = i
        while stop < order.size and clock.out_start(onset[order[stop]]) < n1:
            stop += 1
        if stop > i:
            idx = order[i:stop]
            t0 = np.array([max(clock.out_start(onset[j]), n0) for j in idx], np.int64)
            self._start_atoms(idx, t0)
            self._next_atom = stop

    def _render_range(self, n0: int, n1: int, oi: int) -> None:
        """Kernel samples [n0, n1) (no edit or loop wrap inside) into ``_out[:, :, oi:]``."""
        self._start_due_atoms(n0, n1)
        if self._mdct.scales:
            self._mdct.add_due(n0, n1, self._clock, self._groups)
            self._mdct.take(n0, n1 - n0, self._out[0], oi)
        pool = self._pool
        if self._use32 and pool.n_active:
            self._bank.reserve(self._bank.n_entries + int(pool.state.n_modes[pool.active].sum()))
        K.render_flat(self._out, oi, n0, n1 - n0, pool.arena, self._use32, *pool.state,
                      *pool.lists, *self._bank.state, *self._controls, *self._scratch)
        self._kernel_pos = n1

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


__all__ = ["ATOM_EDITS", "GroupControls", "StreamingSynth"]
