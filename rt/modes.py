"""Mode tables (resonance presets) and the modes of resonant atoms.

One formula covers parametric and preset atoms. With ``(ratio_m, g_m, d_m)`` either the
parametric triple ``(m * sqrt(1 + B m^2), 1, 1)`` (``B = inharmonicity``) or row ``m`` of the
atom's mode table, mode ``m = 1 .. n_modes`` has

* frequency ``f_m = f0_hz * ratio_m`` (modes at or above Nyquist are dropped),
* amplitude ``a_m = g_m * brightness ** (m - 1) * exp(-0.5 * (f_m / cutoff_hz) ** 2)``,
* decay ``T_m = t60_s * d_m * ratio_m ** -damping``, clamped to [0.001, 120] s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from atomsynth.rt.errors import PresetError
from atomsynth.rt.params import MAX_MODES

if TYPE_CHECKING:
    from atomsynth.rt.atoms import ResonantAtoms

T60_MIN_S = 0.001
T60_MAX_S = 120.0


@dataclass(frozen=True, eq=False)
class ModeTable:
    """A resonance preset: relative mode frequencies, gains and decays.

    Parameters
    ----------
    name : str
        Preset name (lower_snake_case).
    ratios : array_like, shape (M,)
        Mode frequency over the fundamental; first entry 1, strictly increasing, M in [1, 64].
    gains : array_like, shape (M,)
        Relative linear amplitudes in (0, 1].
    decays : array_like, shape (M,)
        T60 of each mode relative to the fundamental's, in (0, 10].
    description, source, family : str
        What it is, where the numbers come from, and the kind of object.
    """

    name: str
    ratios: np.ndarray
    gains: np.ndarray
    decays: np.ndarray
    description: str = ""
    source: str = ""
    family: str = ""
    _frozen: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 0 < len(self.name) <= 100:
            raise PresetError(f"mode table name {self.name!r} must be a string of 1 to 100 chars")
        for key in ("description", "source", "family"):
            if not isinstance(getattr(self, key), str):
                raise PresetError(f"mode table {self.name!r}: {key} must be a string")
        arrays = {}
        for key in ("ratios", "gains", "decays"):
            try:
                arr = np.array(getattr(self, key), dtype=np.float64)
            except (TypeError, ValueError):
                raise PresetError(f"mode table {self.name!r}: {key} must be numbers") from None
            if arr.ndim != 1 or not 1 <= arr.size <= MAX_MODES:
                raise PresetError(
                    f"mode table {self.name!r}: {key} must be a list of 1 to {MAX_MODES} numbers,"
                    f" got shape {arr.shape}"
                )
            if not np.isfinite(arr).all():
                raise PresetError(f"mode table {self.name!r}: {key} contains NaN or infinity")
            arr.flags.writeable = False
            arrays[key] = arr
        r, g, d = arrays["ratios"], arrays["gains"], arrays["decays"]
        if not (r.size == g.size == d.size):
            raise PresetError(
                f"mode table {self.name!r}: ratios, gains and decays differ in length "
                f"({r.size}, {g.size}, {d.size})"
            )
        if abs(r[0] - 1.0) > 1e-9 or (np.diff(r) <= 0).any() or r[-1] > 1000:
            raise PresetError(
                f"mode table {self.name!r}: ratios must start at 1, increase strictly and stay "
                f"under 1000; got {r.tolist()}"
            )
        if (g <= 0).any() or (g > 1).any():
            raise PresetError(f"mode table {self.name!r}: gains must lie in (0, 1]")
        if (d <= 0).any() or (d > 10).any():
            raise PresetError(f"mode table {self.name!r}: decays must lie in (0, 10]")
        for key, arr in arrays.items():
            object.__setattr__(self, key, arr)

    def __len__(self) -> int:
        return int(self.ratios.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModeTable):
            return NotImplemented
        return (
            self.name == other.name
            and self.description == other.description
            and self.source == other.source
            and self.family == other.family
            and np.array_equal(self.ratios, other.ratios)
            and np.array_equal(self.gains, other.gains)
            and np.array_equal(self.decays, other.decays)
        )

    __hash__ = None  # type: ignore[assignment]

    def to_json_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "family": self.family,
            "ratios": self.ratios.tolist(),
            "gains": self.gains.tolist(),
            "decays": self.decays.tolist(),
        }


@dataclass(frozen=True)
class ModeBank:
    """The modes of ``n`` resonant atoms, zero-padded to ``MAX_MODES`` columns.

    Attributes
    ----------
    freq_hz, amp, t60_s : ndarray, shape (n, 64)
        Mode frequency, amplitude ``a_m`` and decay ``T_m``; inactive modes have ``amp == 0``
        (and ``freq_hz == 0``, ``t60_s == T60_MIN_S``).
    active : ndarray of bool, shape (n, 64)
        Which modes sound.
    """

    freq_hz: np.ndarray
    amp: np.ndarray
    t60_s: np.ndarray
    active: np.ndarray


def mode_triples(
    atoms: ResonantAtoms, tables: tuple[ModeTable, ...] | list[ModeTable]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``(ratio_m, g_m, d_m)`` of every atom and whether mode m exists.

    Returns
    -------
    ratio, g, d : ndarray, shape (n, 64)
    exists : ndarray of bool, shape (n, 64)
        ``m < n_modes`` and, for preset atoms, ``m`` is inside the table.
    """
    n = len(atoms)
    m = np.arange(1, MAX_MODES + 1, dtype=np.float64)
    b = atoms.inharmonicity[:, None]
    ratio = m[None, :] * np.sqrt(1.0 + b * m[None, :] ** 2)
    g = np.ones((n, MAX_MODES))
    d = np.ones((n, MAX_MODES))
    exists = m[None, :] <= atoms.n_modes[:, None]
    preset = atoms.preset
    for t_index in np.unique(preset[preset >= 0]):
        table = tables[int(t_index)]
        rows = preset == t_index
        k = len(table)
        ratio[rows, :k] = table.ratios
        ratio[rows, k:] = table.ratios[-1]
        g[rows, :k] = table.gains
        d[rows, :k] = table.decays
        exists[rows, k:] = False
    return ratio, g, d, exists


def atom_modes(
    atoms: ResonantAtoms,
    tables: tuple[ModeTable, ...] | list[ModeTable],
    sample_rate: float,
) -> ModeBank:
    """Mode frequencies, amplitudes and decays of every atom at ``sample_rate`` (see module)."""
    ratio, g, d, exists = mode_triples(atoms, tables)
    freq = atoms.f0_hz[:, None] * ratio
    m = np.arange(MAX_MODES, dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        tilt = np.power(atoms.brightness[:, None], m[None, :])
        lowpass = np.exp(-0.5 * (freq / atoms.cutoff_hz[:, None]) ** 2)
        t60 = atoms.t60_s[:, None] * d * np.power(ratio, -atoms.damping[:, None])
    active = exists & (freq < 0.5 * sample_rate)
    amp = np.where(active, g * tilt * lowpass, 0.0)
    t60 = np.clip(np.nan_to_num(t60, nan=T60_MIN_S, posinf=T60_MAX_S), T60_MIN_S, T60_MAX_S)
    return ModeBank(
        freq_hz=np.where(active, freq, 0.0),
        amp=amp,
        t60_s=np.where(active, t60, T60_MIN_S),
        active=active,
    )
