"""The discrete view of MDCT atoms: integer features with a cardinality each.

This is what the atom language model reads and what the compact bitstream codes. Each MDCT atom
becomes ``scale`` (index into :data:`~atomsynth.rt.params.MDCT_SCALES`), ``frame`` (time),
``bin`` (frequency), ``channel``, ``sign`` (0 for positive, 1 for negative) and ``velocity``:
its level in dB under a reference (the loudest atom by default), quantized to ``n_levels``
steps over ``range_db`` dB, ``n_levels - 1`` being the loudest::

    step      = range_db / (n_levels - 1)
    velocity  = n_levels - 1 - round(-20 log10(|value| / ref) / step)      (0 .. n_levels - 1)
    |value|   = ref * 10 ** (-(n_levels - 1 - velocity) * step / 20)

Atoms quieter than ``range_db + step / 2`` under the reference have no velocity and are
dropped by :func:`quantize_mdct`. With fine quantization a round trip is exact to the step:
``|20 log10(|value'| / |value|)| <= step / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from atomsynth.rt.atoms import MdctAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.params import MDCT_SCALES

FEATURES = ("scale", "frame", "bin", "channel", "sign", "velocity")
ORDERS = ("velocity", "time", "frequency", "channel", "none")


@dataclass(frozen=True)
class MdctFeatures:
    """Integer features of ``n`` MDCT atoms.

    Attributes
    ----------
    columns : dict of str to ndarray of int64, each shape (n,)
        One entry per name in :data:`FEATURES`.
    ref : float
        Reference magnitude (velocity ``n_levels - 1``).
    range_db : float
        Dynamic range covered by the velocity levels, in dB.
    n_levels : int
        Number of velocity levels.
    group : ndarray of int, shape (n,)
        Group of each atom (carried along, not a feature).
    """

    columns: dict[str, np.ndarray]
    ref: float
    range_db: float
    n_levels: int
    group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.columns["velocity"].size)

    @property
    def step_db(self) -> float:
        return self.range_db / (self.n_levels - 1)

    def cardinalities(self, *, channels: int = 1, n_frames: int | None = None) -> dict[str, int]:
        """Number of values each feature can take (frames: ``n_frames`` or max frame + 1)."""
        frames = n_frames if n_frames is not None else (
            int(self.columns["frame"].max()) + 1 if len(self) else 1)
        return {"scale": len(MDCT_SCALES), "frame": frames, "bin": max(MDCT_SCALES) // 2,
                "channel": channels, "sign": 2, "velocity": self.n_levels}

    def select(self, index) -> MdctFeatures:
        return MdctFeatures({k: v[index] for k, v in self.columns.items()}, self.ref,
                            self.range_db, self.n_levels, self.group[index])


def _check_quant(n_levels: int, range_db: float) -> None:
    if not isinstance(n_levels, (int, np.integer)) or not 2 <= n_levels <= 65536:
        raise ParameterError(f"n_levels = {n_levels!r} is out of range; allowed [2, 65536]")
    if not np.isfinite(range_db) or not 1.0 <= range_db <= 400.0:
        raise ParameterError(f"range_db = {range_db!r} is out of range; allowed [1, 400] dB")


def quantize_mdct(atoms: MdctAtoms, *, n_levels: int = 64, range_db: float = 96.0,
                  ref: float | None = None) -> MdctFeatures:
    """Discrete features of ``atoms``; atoms below the velocity range (and zeros) are dropped."""
    _check_quant(n_levels, range_db)
    mag = np.abs(atoms.value)
    if ref is None:
        ref = float(mag.max()) if mag.size and mag.max() > 0 else 1.0
    if not np.isfinite(ref) or ref <= 0:
        raise ParameterError(f"ref = {ref!r} must be a positive finite magnitude")
    step = range_db / (n_levels - 1)
    with np.errstate(divide="ignore"):
        below = -20.0 * np.log10(mag / ref)
    j = np.round(below / step)
    keep = (mag > 0) & (j <= n_levels - 1)
    j = np.clip(j, 0, n_levels - 1)
    scale_index = np.searchsorted(np.asarray(MDCT_SCALES), atoms.scale)
    cols = {
        "scale": scale_index.astype(np.int64)[keep],
        "frame": atoms.frame.astype(np.int64)[keep],
        "bin": atoms.bin.astype(np.int64)[keep],
        "channel": atoms.channel.astype(np.int64)[keep],
        "sign": (atoms.value < 0).astype(np.int64)[keep],
        "velocity": (n_levels - 1 - j).astype(np.int64)[keep],
    }
    return MdctFeatures(cols, float(ref), float(range_db), int(n_levels),
                        atoms.group.astype(np.int64)[keep])


def dequantize_mdct(features: MdctFeatures) -> MdctAtoms:
    """MDCT atoms from features (inverse of :func:`quantize_mdct` up to the velocity step)."""
    c = features.columns
    for name in FEATURES:
        if name not in c:
            raise ParameterError(f"features lack the column {name!r}")
    v = c["velocity"]
    if v.size and (v.min() < 0 or v.max() >= features.n_levels):
        raise ParameterError(f"velocity outside [0, {features.n_levels - 1}]")
    mag = features.ref * 10.0 ** (-(features.n_levels - 1 - v) * features.step_db / 20.0)
    value = np.where(c["sign"] == 1, -mag, mag)
    if c["scale"].size and (c["scale"].min() < 0 or c["scale"].max() >= len(MDCT_SCALES)):
        raise ParameterError(f"scale index outside [0, {len(MDCT_SCALES) - 1}]")
    group = features.group if features.group.size == v.size else 0
    return MdctAtoms(v.size, scale=np.asarray(MDCT_SCALES)[c["scale"]], frame=c["frame"],
                     bin=c["bin"], channel=c["channel"], value=value, group=group)


def order(features: MdctFeatures, by: str = "velocity") -> np.ndarray:
    """A stable permutation sorting atoms by ``by`` (one of :data:`ORDERS`).

    ``velocity``: loudest first; ``time``: frame, then bin; ``frequency``: centre frequency
    (bin + 1/2) / scale, then frame; ``channel``: channel, then frame, then bin; ``none``:
    as stored. Ties are broken by the remaining features so the order is deterministic.
    """
    c = features.columns
    if by not in ORDERS:
        raise ParameterError(f"order {by!r} is not one of {ORDERS}")
    if by == "none":
        return np.arange(len(features))
    scales = np.asarray(MDCT_SCALES)[c["scale"]] if len(features) else np.zeros(0)
    freq = (c["bin"] + 0.5) / np.maximum(scales, 1)
    start = (c["frame"] - 1) * (scales // 2)  # first native sample
    keys = {
        "velocity": (freq, start, c["channel"], -c["velocity"]),
        "time": (c["channel"], freq, start),
        "frequency": (c["channel"], start, freq),
        "channel": (freq, start, c["channel"]),
    }[by]
    return np.lexsort(keys)
