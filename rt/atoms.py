"""Columnar, NumPy-backed atom containers, validated at construction.

An :class:`AtomSet` holds the header (sample rate, channels, duration, provenance, mode tables,
group and room names) and one container per family: :class:`ResonantAtoms` and
:class:`MdctAtoms`. Containers are immutable: every column is a read-only NumPy array of length
``n`` and edits return new containers (``with_columns``, ``select``, ``concat``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from atomsynth.rt.errors import ParameterError
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.params import (
    MDCT_PARAMS,
    MDCT_SCALES,
    RESONANT_PARAMS,
    ParamSpec,
    check_sample_rate,
)

MAX_ATOMS = 50_000_000
MAX_TIME_S = 86400.0
"""The latest time an atom may start, in seconds (one day; ``onset_s``'s upper bound)."""
"""Upper bound on the atoms of one family in one set (guards memory)."""


class _Columns:
    """Base of the family containers: one validated, read-only array per parameter."""

    SPECS: ClassVar[tuple[ParamSpec, ...]] = ()
    FAMILY: ClassVar[str] = ""

    __slots__ = ("_cols", "_n")

    def __init__(self, n: int | None = None, /, **columns: Any) -> None:
        names = [s.name for s in self.SPECS]
        unknown = sorted(set(columns) - set(names))
        if unknown:
            raise ParameterError(
                f"{self.FAMILY} atoms: unknown parameter(s) {unknown}; known: {names}"
            )
        lengths = {
            k: np.shape(v)[0] for k, v in columns.items() if np.ndim(v) > 0
        }
        for k, v in columns.items():
            if np.ndim(v) > 1:
                raise ParameterError(
                    f"{self.FAMILY} atoms: column {k!r} must be 1-D, got shape {np.shape(v)}"
                )
        if n is None:
            n = max(lengths.values(), default=0 if not columns else 1)
        if len(set(lengths.values()) | {n}) > 1:
            raise ParameterError(
                f"{self.FAMILY} atoms: inconsistent column lengths {lengths} (expected {n})"
            )
        if not 0 <= n <= MAX_ATOMS:
            raise ParameterError(f"{self.FAMILY} atoms: count {n} outside [0, {MAX_ATOMS}]")
        cols: dict[str, np.ndarray] = {}
        for spec in self.SPECS:
            raw = columns.get(spec.name, spec.default)
            cols[spec.name] = _coerce_column(self.FAMILY, spec, raw, n)
        self._cols = cols
        self._n = int(n)
        self._validate_ranges()
        for arr in cols.values():
            arr.flags.writeable = False

    # -- validation -----------------------------------------------------------------------
    def _validate_ranges(self) -> None:
        for spec in self.SPECS:
            arr = self._cols[spec.name]
            if arr.size == 0:
                continue
            if not spec.is_integer:
                bad = ~np.isfinite(arr)
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise ParameterError(
                        f"{self.FAMILY} atom {i}: {spec.name} = {arr[i].item()!r} is not finite; "
                        f"allowed range {spec.range_text()}"
                    )
            bad = (arr < spec.lo) | (arr > spec.hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ParameterError(
                    f"{self.FAMILY} atom {i}: {spec.name} = {arr[i].item()!r} is out of range; "
                    f"allowed range {spec.range_text()}"
                )

    # -- access ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._cols[name]
        except KeyError:
            raise KeyError(f"{self.FAMILY} atoms have no parameter {name!r}") from None

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self._cols[name]
        except (KeyError, AttributeError):
            raise AttributeError(name) from None

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._n == other._n and all(
            np.array_equal(self._cols[k], other._cols[k]) for k in self._cols
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self._n})"

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """The columns as a new dict of read-only arrays, in the family's parameter order."""
        return dict(self._cols)

    @classmethod
    def empty(cls):
        return cls(0)

    def select(self, index: Any):
        """A new container with the atoms at ``index`` (a slice, bool mask or index array)."""
        idx = np.arange(self._n)[index]
        return type(self)(len(np.atleast_1d(idx)), **{
            k: np.atleast_1d(v[idx]) for k, v in self._cols.items()
        })

    def with_columns(self, index: Any = None, **columns: Any):
        """A new container with ``columns`` replaced (for all atoms, or the atoms at ``index``).

        The result is validated like any new container.
        """
        new = {k: v.copy() for k, v in self._cols.items()}
        for k, v in columns.items():
            if k not in new:
                raise ParameterError(f"{self.FAMILY} atoms have no parameter {k!r}")
            if index is None:
                new[k] = np.broadcast_to(v, (self._n,)).copy() if np.ndim(v) == 0 else v
            else:
                new[k][index] = v
        return type(self)(self._n, **new)

    @classmethod
    def concat(cls, parts: Iterable[_Columns]):
        """All atoms of ``parts``, in order, as one container."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        n = sum(len(p) for p in parts)
        return cls(n, **{s.name: np.concatenate([p._cols[s.name] for p in parts])
                         for s in cls.SPECS})


def _coerce_column(family: str, spec: ParamSpec, raw: Any, n: int) -> np.ndarray:
    """Convert one column to its dtype, broadcasting scalars; reject what does not fit."""
    try:
        arr = np.asarray(raw)
    except Exception as exc:  # noqa: BLE001 - anything unconvertible is a parameter error
        raise ParameterError(f"{family} atoms: {spec.name} is not numeric ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise ParameterError(
            f"{family} atoms: {spec.name} must be numeric, got dtype {arr.dtype}"
        )
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if spec.is_integer:
        if arr.dtype.kind == "f":
            finite = np.isfinite(arr)
            if not finite.all():
                i = int(np.flatnonzero(~finite)[0])
                raise ParameterError(
                    f"{family} atom {i}: {spec.name} = {arr[i].item()!r} is not finite; "
                    f"allowed range {spec.range_text()}"
                )
            if (arr != np.round(arr)).any():
                i = int(np.flatnonzero(arr != np.round(arr))[0])
                raise ParameterError(
                    f"{family} atom {i}: {spec.name} = {arr[i].item()!r} is not an integer"
                )
        # Range-check before the cast so that out-of-range values are not wrapped.
        wide = arr.astype(np.float64) if arr.dtype.kind == "f" else arr.astype(np.int64)
        bad = (wide < spec.lo) | (wide > spec.hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ParameterError(
                f"{family} atom {i}: {spec.name} = {arr[i].item()!r} is out of range; "
                f"allowed range {spec.range_text()}"
            )
        return wide.astype(spec.dtype)
    return np.array(arr, dtype=spec.dtype, copy=True)


class ResonantAtoms(_Columns):
    """Resonant (source-excitation) atoms: a noise burst exciting decaying modes.

    Columns and their units, ranges and defaults are :data:`atomsynth.rt.params.RESONANT_PARAMS`.
    Construct with keyword columns (arrays of length ``n`` or scalars):
    ``ResonantAtoms(onset_s=[0, 0.5], f0_hz=[220, 330], t60_s=1.5)``.
    """

    SPECS = RESONANT_PARAMS
    FAMILY = "resonant"
    __slots__ = ()


class MdctAtoms(_Columns):
    """MDCT atoms: ``value`` times one orthonormal sine-windowed MDCT basis function.

    Columns: :data:`atomsynth.rt.params.MDCT_PARAMS`. ``scale`` must be a power of two in
    :data:`~atomsynth.rt.params.MDCT_SCALES` and ``bin < scale // 2``.
    """

    SPECS = MDCT_PARAMS
    FAMILY = "mdct"
    __slots__ = ()

    def _validate_ranges(self) -> None:
        super()._validate_ranges()
        scale, b = self._cols["scale"], self._cols["bin"]
        if scale.size:
            bad = ~np.isin(scale, MDCT_SCALES)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ParameterError(
                    f"mdct atom {i}: scale = {scale[i]} is not one of {list(MDCT_SCALES)}"
                )
            bad = b >= scale // 2
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ParameterError(
                    f"mdct atom {i}: bin = {b[i]} is out of range; allowed [0, {scale[i] // 2 - 1}]"
                    f" for scale {scale[i]}"
                )


def _check_names(what: str, names: Sequence[str], limit: int) -> tuple[str, ...]:
    names = tuple(names)
    if len(names) > limit:
        raise ParameterError(f"{what}: {len(names)} names, at most {limit} allowed")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            raise ParameterError(f"{what}[{i}] = {name!r} must be a string of 1 to 200 characters")
        if not _is_utf8(name):
            raise ParameterError(f"{what}[{i}] = {name!r} holds a lone surrogate (not valid "
                                 "Unicode text)")
    return names


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class AtomSet:
    """A complete atom set: header plus both families.

    Parameters
    ----------
    sample_rate : int
        Native sample rate in Hz (8,000 to 384,000). MDCT atoms live on this rate's sample grid;
        resonant atoms are continuous-time and render at any rate.
    channels : int
        Output channels (1 to 64). Resonant atoms pan across channels 0 and 1.
    resonant, mdct : ResonantAtoms, MdctAtoms
        The atoms.
    duration_s : float or None
        Length of the piece in seconds; ``None`` takes the end of the last atom (its burst plus
        its decay to -100 dB, or its last MDCT frame).
    mode_tables : sequence of ModeTable
        The resonance presets that resonant atoms with ``preset >= 0`` index into.
    group_names, room_names : sequence of str
        Names of the groups (stems) and rooms that atoms index into. Groups without a name are
        called ``"group N"``.
    provenance : mapping
        Where the set came from (tool, source file, settings): JSON-serializable values only.
    """

    sample_rate: int = 48000
    channels: int = 2
    resonant: ResonantAtoms = field(default_factory=ResonantAtoms.empty)
    mdct: MdctAtoms = field(default_factory=MdctAtoms.empty)
    duration_s: float | None = None
    mode_tables: tuple[ModeTable, ...] = ()
    group_names: tuple[str, ...] = ()
    room_names: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sr = self.sample_rate
        if isinstance(sr, float) and sr.is_integer():
            sr = int(sr)
        object.__setattr__(self, "sample_rate", check_sample_rate(sr))
        ch = self.channels
        if not isinstance(ch, (int, np.integer)) or not 1 <= ch <= 64:
            raise ParameterError(f"channels = {ch!r} is out of range; allowed [1, 64]")
        object.__setattr__(self, "channels", int(ch))
        if not isinstance(self.resonant, ResonantAtoms):
            raise ParameterError("resonant must be a ResonantAtoms container")
        if not isinstance(self.mdct, MdctAtoms):
            raise ParameterError("mdct must be an MdctAtoms container")
        tables = tuple(self.mode_tables)
        for i, t in enumerate(tables):
            if not isinstance(t, ModeTable):
                raise ParameterError(f"mode_tables[{i}] is not a ModeTable")
        object.__setattr__(self, "mode_tables", tables)
        object.__setattr__(self, "group_names",
                           _check_names("group_names", self.group_names, 65536))
        object.__setattr__(self, "room_names", _check_names("room_names", self.room_names, 256))
        preset = self.resonant.preset
        if preset.size and preset.max() >= len(tables):
            i = int(np.argmax(preset))
            raise ParameterError(
                f"resonant atom {i}: preset = {preset[i]} but the set has {len(tables)} mode "
                f"table(s); allowed [-1, {len(tables) - 1}]"
            )
        room = self.resonant.room
        if room.size and room.max() >= len(self.room_names):
            i = int(np.argmax(room))
            raise ParameterError(
                f"resonant atom {i}: room = {room[i]} but the set has {len(self.room_names)} "
                f"room(s); allowed [-1, {len(self.room_names) - 1}]"
            )
        chan = self.mdct.channel
        if chan.size and chan.max() >= self.channels:
            i = int(np.argmax(chan))
            raise ParameterError(
                f"mdct atom {i}: channel = {chan[i]} but the set has {self.channels} channel(s)"
            )
        if self.duration_s is not None:
            d = self.duration_s
            if not isinstance(d, (int, float, np.floating)) or not math.isfinite(d) or not (
                0 <= d <= 86400
            ):
                raise ParameterError(f"duration_s = {d!r} is out of range; allowed [0, 86400] s")
            object.__setattr__(self, "duration_s", float(d))
        if len(self.mdct):
            # an MDCT atom starts at (frame - 1) * N; like onset_s, no later than MAX_TIME_S
            start = (self.mdct.frame.astype(np.int64) - 1) * (self.mdct.scale.astype(np.int64)
                                                              // 2)
            if start.max() > MAX_TIME_S * self.sample_rate:
                i = int(np.argmax(start))
                raise ParameterError(
                    f"mdct atom {i}: frame = {self.mdct.frame[i]} starts at "
                    f"{start[i] / self.sample_rate:.6g} s; allowed up to {MAX_TIME_S:g} s")
        try:
            import json

            # what every save writes: strict JSON (no NaN or infinity) and valid UTF-8
            json.dumps(dict(self.provenance), allow_nan=False, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"provenance must be JSON-serializable (finite numbers, valid "
                                 f"text): {exc}") from None
        object.__setattr__(self, "provenance", dict(self.provenance))

    # -- derived --------------------------------------------------------------------------
    @property
    def n_atoms(self) -> int:
        return len(self.resonant) + len(self.mdct)

    @property
    def groups(self) -> np.ndarray:
        """Sorted ids of the groups that have atoms, shape (n_groups,)."""
        return np.union1d(self.resonant.group, self.mdct.group).astype(np.int64)

    def group_name(self, group: int) -> str:
        if 0 <= group < len(self.group_names):
            return self.group_names[group]
        return f"group {group}"

    def end_s(self) -> float:
        """End of the last atom in seconds (resonant: burst plus decay to -100 dB)."""
        from atomsynth.rt.extent import atom_end_s, mdct_end_s

        end = 0.0
        if len(self.resonant):
            end = max(end, float(atom_end_s(self.resonant, self.mode_tables,
                                                 sample_rate=self.sample_rate).max()))
        if len(self.mdct):
            end = max(end, float(mdct_end_s(self.mdct, self.sample_rate).max()))
        return end

    @property
    def length_s(self) -> float:
        """``duration_s`` if set, else :meth:`end_s`."""
        return self.duration_s if self.duration_s is not None else self.end_s()

    def replace(self, **changes: Any) -> AtomSet:
        """A new validated set with header fields or families replaced."""
        return replace(self, **changes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AtomSet):
            return NotImplemented
        return (
            self.sample_rate == other.sample_rate
            and self.channels == other.channels
            and self.duration_s == other.duration_s
            and self.mode_tables == other.mode_tables
            and self.group_names == other.group_names
            and self.room_names == other.room_names
            and dict(self.provenance) == dict(other.provenance)
            and self.resonant == other.resonant
            and self.mdct == other.mdct
        )

    __hash__ = None  # type: ignore[assignment]
