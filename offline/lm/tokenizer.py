"""Atom sets to integer feature tables (tokens) and back. NumPy only (no torch).

Two schemas, one per atom family. Every feature is an integer in ``[0, cardinality)``.

MDCT atoms (:class:`MdctTokenizer`, one MDCT ``scale`` per model) build on
:mod:`atomsynth.rt.features`:

=========  ========================  ===================================================
feature    cardinality               meaning
=========  ========================  ===================================================
frame      ``window_frames``         MDCT frame t (file tokens: absolute; windows: relative
                                     to the window's first frame)
bin        ``scale // 2``            frequency bin k
channel    ``channels``              output channel
sign       2                         0 positive, 1 negative value
velocity   ``n_levels``              level under the file's loudest atom, ``range_db / (n_levels
                                     - 1)`` dB steps (``n_levels - 1`` = loudest)
=========  ========================  ===================================================

Resonant atoms (:class:`ResonantTokenizer`): continuous parameters quantized to these bins
(values outside a range are clipped to its end bins; parameters not listed take their defaults
from :data:`atomsynth.rt.params.RESONANT_PARAMS` when decoding):

=============  ===========  ===============================================================
feature        cardinality  quantization
=============  ===========  ===============================================================
onset          window       ``round(onset_s / time_step_s)`` (default step 0.01 s)
f0             480          25-cent steps from 20 Hz (to about 20.2 kHz)
t60            64           log steps from 0.005 s to 60 s
gain           121          1 dB steps from -96 to +24 dB
pan            17           steps of 1/8 from -1 to +1
damping        25           steps of 0.25 from -2 to +4
brightness     17           steps of 1/16 from 0 to 1
n_modes        64           n_modes - 1
noise          31           third-octave steps of noise_hz from 20 Hz (0 Hz -> bin 0)
attack         32           log steps of attack_s from 0.1 ms to 1 s
=============  ===========  ===============================================================

A round trip tokens -> atoms -> tokens is exact; atoms -> tokens -> atoms is exact to half a
quantization step (test ``tests/test_lm.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atomsynth.rt.atoms import AtomSet, ResonantAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.features import ORDERS, MdctFeatures, dequantize_mdct, quantize_mdct
from atomsynth.rt.params import MDCT_SCALES

ROLES = ("time", "freq", "velocity", "channel", "sign")


@dataclass(frozen=True)
class Schema:
    """Names, cardinalities and roles of the features a model reads.

    Attributes
    ----------
    family : str
        ``"mdct"`` or ``"resonant"``.
    names : tuple of str
        Feature names, in column order.
    cards : tuple of int
        Cardinality of each feature (the time feature's is the window length in frames).
    roles : dict of str to str
        Role -> feature name for the roles in :data:`ROLES` the family has.
    """

    family: str
    names: tuple[str, ...]
    cards: tuple[int, ...]
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def role_index(self, role: str) -> int | None:
        name = self.roles.get(role)
        return None if name is None else self.names.index(name)


@dataclass
class TokenSet:
    """Integer features of the atoms of one file.

    Attributes
    ----------
    values : ndarray of int64, shape (n_atoms, n_features)
        Feature values, columns in ``schema.names`` order; the time feature is absolute.
    schema : Schema
    meta : dict
        What decoding needs: ``sample_rate``, ``channels``, ``duration_s``, ``ref`` (MDCT).
    """

    values: np.ndarray
    schema: Schema
    meta: dict[str, Any]

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.schema.index(name)]

    def select(self, index) -> TokenSet:
        return TokenSet(np.ascontiguousarray(self.values[index]), self.schema, dict(self.meta))

    def with_values(self, values: np.ndarray) -> TokenSet:
        return TokenSet(np.asarray(values, dtype=np.int64), self.schema, dict(self.meta))


def _order_keys(values: np.ndarray, schema: Schema, by: str) -> np.ndarray:
    if by not in ORDERS:
        raise ParameterError(f"order = {by!r} is not one of {ORDERS}")
    n = values.shape[0]
    if by == "none" or n == 0:
        return np.arange(n)
    col = {r: values[:, schema.role_index(r)] if schema.role_index(r) is not None
           else np.zeros(n, dtype=np.int64) for r in ROLES}
    keys = {  # np.lexsort: the last key is the primary one
        "velocity": (col["channel"], col["freq"], col["time"], -col["velocity"]),
        "time": (-col["velocity"], col["channel"], col["freq"], col["time"]),
        "frequency": (-col["velocity"], col["channel"], col["time"], col["freq"]),
        "channel": (-col["velocity"], col["freq"], col["time"], col["channel"]),
    }[by]
    return np.lexsort(keys)


def order_tokens(tokens: TokenSet, by: str = "velocity") -> TokenSet:
    """The atoms sorted by ``by``: velocity (loudest first), time, frequency or channel.

    Ties are broken by the other roles so the order is deterministic; ``none`` keeps the order.
    """
    return tokens.select(_order_keys(tokens.values, tokens.schema, by))


class MdctTokenizer:
    """MDCT atoms of one scale <-> tokens (see the module docstring for the features).

    Parameters
    ----------
    scale : int
        MDCT frame length 2N of the atoms read (one of ``MDCT_SCALES``); other scales are
        ignored by :meth:`encode`.
    window_frames : int
        Cardinality of the (window-relative) frame feature.
    n_levels, range_db : int, float
        Velocity quantization (see :mod:`atomsynth.rt.features`).
    channels : int
        Cardinality of the channel feature.
    """

    family = "mdct"

    def __init__(self, *, scale: int = 1024, window_frames: int = 32, n_levels: int = 64,
                 range_db: float = 96.0, channels: int = 1) -> None:
        if scale not in MDCT_SCALES:
            raise ParameterError(f"scale = {scale!r} is not one of {list(MDCT_SCALES)}")
        if not isinstance(window_frames, (int, np.integer)) or not 2 <= window_frames <= 4096:
            raise ParameterError(f"window_frames = {window_frames!r} is out of range; "
                                 "allowed [2, 4096]")
        if not isinstance(channels, (int, np.integer)) or not 1 <= channels <= 64:
            raise ParameterError(f"channels = {channels!r} is out of range; allowed [1, 64]")
        self.scale, self.window_frames = int(scale), int(window_frames)
        self.n_levels, self.range_db, self.channels = int(n_levels), float(range_db), int(channels)
        self.schema = Schema("mdct", ("frame", "bin", "channel", "sign", "velocity"),
                             (self.window_frames, self.scale // 2, self.channels, 2,
                              self.n_levels),
                             {"time": "frame", "freq": "bin", "channel": "channel",
                              "sign": "sign", "velocity": "velocity"})

    @property
    def hop(self) -> int:
        return self.scale // 2

    def config(self) -> dict[str, Any]:
        return {"family": "mdct", "scale": self.scale, "window_frames": self.window_frames,
                "n_levels": self.n_levels, "range_db": self.range_db, "channels": self.channels}

    def frame_seconds(self, sample_rate: int) -> float:
        """Duration of one time step (the hop) in seconds."""
        return self.hop / sample_rate

    def freq_token(self, freq_hz: float, sample_rate: int) -> int:
        """The first bin whose centre frequency ``(k + 1/2) sr / scale`` is >= ``freq_hz``."""
        return int(np.clip(math.ceil(freq_hz * self.scale / sample_rate - 0.5), 0, self.hop))

    def encode(self, atom_set: AtomSet, *, order: str = "velocity",
               ref: float | None = None) -> TokenSet:
        """Tokens of the set's MDCT atoms at this scale, sorted by ``order``.

        Velocities are relative to ``ref`` (default: the loudest atom); atoms more than
        ``range_db`` under it are dropped. Channels past ``channels`` raise ParameterError.
        """
        m = atom_set.mdct
        keep = m.scale == self.scale
        atoms = m.select(keep) if not keep.all() else m
        if len(atoms) and int(atoms.channel.max()) >= self.channels:
            raise ParameterError(f"the atom set has channel {int(atoms.channel.max())} but the "
                                 f"tokenizer has channels = {self.channels}")
        f = quantize_mdct(atoms, n_levels=self.n_levels, range_db=self.range_db, ref=ref)
        values = np.stack([f.columns[n] for n in self.schema.names], axis=1).astype(np.int64)
        values = values.reshape(-1, self.schema.n_features)
        meta = {"sample_rate": atom_set.sample_rate, "channels": atom_set.channels,
                "duration_s": atom_set.length_s, "ref": f.ref,
                "dropped_other_scales": int((~keep).sum())}
        return order_tokens(TokenSet(values, self.schema, meta), order)

    def decode(self, tokens: TokenSet, *, duration_s: float | None = None) -> AtomSet:
        """The MDCT atoms the tokens stand for (velocity -> magnitude at the token's ref)."""
        v = _check_tokens(tokens, self.schema)
        cols = {n: v[:, i] for i, n in enumerate(self.schema.names)}
        if (cols["bin"] >= self.hop).any():
            raise ParameterError(f"bin token >= {self.hop} for scale {self.scale}")
        cols["scale"] = np.full(len(v), MDCT_SCALES.index(self.scale), dtype=np.int64)
        feats = MdctFeatures(cols, float(tokens.meta.get("ref", 1.0)), self.range_db,
                             self.n_levels, np.zeros(len(v), dtype=np.int64))
        atoms = dequantize_mdct(feats)
        meta = tokens.meta
        channels = max(int(meta.get("channels", 1)), int(cols["channel"].max()) + 1 if len(v)
                       else 1)
        dur = duration_s if duration_s is not None else meta.get("duration_s")
        return AtomSet(sample_rate=int(meta.get("sample_rate", 44100)), channels=channels,
                       mdct=atoms, duration_s=dur,
                       provenance={"tool": "atomsynth lm", **meta.get("provenance", {})})


def _check_tokens(tokens: TokenSet, schema: Schema) -> np.ndarray:
    v = np.asarray(tokens.values)
    if v.ndim != 2 or v.shape[1] != schema.n_features:
        raise ParameterError(f"tokens must have shape (n, {schema.n_features}), got {v.shape}")
    if v.size and v.min() < 0:
        raise ParameterError("tokens must be non-negative")
    for i, (name, card) in enumerate(zip(schema.names, schema.cards, strict=True)):
        if schema.roles.get("time") == name:
            continue  # file-level time tokens are absolute
        if v.size and v[:, i].max() >= card:
            raise ParameterError(f"token {name} = {int(v[:, i].max())} is out of range; "
                                 f"allowed [0, {card - 1}]")
    return v


@dataclass(frozen=True)
class _Bins:
    """A quantizer: linear (``lo + i * step``) or logarithmic (``lo * exp(i * step)``)."""

    param: str
    lo: float
    step: float
    card: int
    log: bool = False
    offset: float = 0.0  # added to the value before quantizing (n_modes: -1)

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64) + self.offset
        if self.log:
            with np.errstate(divide="ignore"):
                i = np.round((np.log(np.maximum(x, 1e-300)) - math.log(self.lo)) / self.step)
        else:
            i = np.round((x - self.lo) / self.step)
        return np.clip(i, 0, self.card - 1).astype(np.int64)

    def decode(self, i: np.ndarray) -> np.ndarray:
        i = np.asarray(i, dtype=np.float64)
        x = self.lo * np.exp(i * self.step) if self.log else self.lo + i * self.step
        return x - self.offset


_RESONANT_BINS = (
    _Bins("f0_hz", 20.0, math.log(2.0) / 48, 480, True),
    _Bins("t60_s", 0.005, math.log(60.0 / 0.005) / 63, 64, True),
    _Bins("gain_db", -96.0, 1.0, 121),
    _Bins("pan", -1.0, 1.0 / 8, 17),
    _Bins("damping", -2.0, 0.25, 25),
    _Bins("brightness", 0.0, 1.0 / 16, 17),
    _Bins("n_modes", 0.0, 1.0, 64, offset=-1.0),
    _Bins("noise_hz", 20.0, math.log(2.0) / 3, 31, True),
    _Bins("attack_s", 1e-4, math.log(1.0 / 1e-4) / 31, 32, True),
)
_RESONANT_NAMES = ("f0", "t60", "gain", "pan", "damping", "brightness", "n_modes", "noise",
                   "attack")


class ResonantTokenizer:
    """Resonant atoms <-> tokens (see the module docstring for the features and bins).

    Parameters
    ----------
    time_step_s : float
        Duration of one onset step in seconds.
    window_frames : int
        Cardinality of the (window-relative) onset feature.
    """

    family = "resonant"

    def __init__(self, *, time_step_s: float = 0.01, window_frames: int = 64) -> None:
        if not (isinstance(time_step_s, (int, float)) and 1e-4 <= time_step_s <= 1.0):
            raise ParameterError(f"time_step_s = {time_step_s!r} is out of range; "
                                 "allowed [0.0001, 1] s")
        if not isinstance(window_frames, (int, np.integer)) or not 2 <= window_frames <= 4096:
            raise ParameterError(f"window_frames = {window_frames!r} is out of range; "
                                 "allowed [2, 4096]")
        self.time_step_s, self.window_frames = float(time_step_s), int(window_frames)
        self.schema = Schema("resonant", ("onset", *_RESONANT_NAMES),
                             (self.window_frames, *(b.card for b in _RESONANT_BINS)),
                             {"time": "onset", "freq": "f0", "velocity": "gain"})

    def config(self) -> dict[str, Any]:
        return {"family": "resonant", "time_step_s": self.time_step_s,
                "window_frames": self.window_frames}

    def frame_seconds(self, sample_rate: int) -> float:
        return self.time_step_s

    def freq_token(self, freq_hz: float, sample_rate: int) -> int:
        """The f0 bin of ``freq_hz``."""
        return int(_RESONANT_BINS[0].encode(np.array([freq_hz]))[0])

    def encode(self, atom_set: AtomSet, *, order: str = "velocity",
               ref: float | None = None) -> TokenSet:
        r = atom_set.resonant
        cols = [np.round(r.onset_s / self.time_step_s).astype(np.int64)]
        cols += [b.encode(r[b.param]) for b in _RESONANT_BINS]
        values = np.stack(cols, axis=1).reshape(-1, self.schema.n_features)
        meta = {"sample_rate": atom_set.sample_rate, "channels": atom_set.channels,
                "duration_s": atom_set.length_s}
        return order_tokens(TokenSet(values, self.schema, meta), order)

    def decode(self, tokens: TokenSet, *, duration_s: float | None = None) -> AtomSet:
        v = _check_tokens(tokens, self.schema)
        cols: dict[str, Any] = {"onset_s": v[:, 0] * self.time_step_s}
        for i, b in enumerate(_RESONANT_BINS):
            cols[b.param] = b.decode(v[:, i + 1])
        cols["noise_hz"] = np.where(v[:, 8] == 0, 0.0, cols["noise_hz"])
        cols["n_modes"] = np.round(cols["n_modes"]).astype(np.int64)
        atoms = ResonantAtoms(len(v), **cols)
        meta = tokens.meta
        dur = duration_s if duration_s is not None else meta.get("duration_s")
        return AtomSet(sample_rate=int(meta.get("sample_rate", 44100)),
                       channels=max(1, int(meta.get("channels", 1))), resonant=atoms,
                       duration_s=dur, provenance={"tool": "atomsynth lm"})


def make_tokenizer(config: dict[str, Any]) -> MdctTokenizer | ResonantTokenizer:
    """A tokenizer from its :meth:`config` dict."""
    cfg = dict(config)
    family = cfg.pop("family", "mdct")
    if family == "mdct":
        return MdctTokenizer(**cfg)
    if family == "resonant":
        return ResonantTokenizer(**cfg)
    raise ParameterError(f"family = {family!r} is not one of ('mdct', 'resonant')")
