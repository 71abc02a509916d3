"""The parameter tables of both atom families: name, dtype, unit, allowed range and default.

These tables are the single source of truth. The atom containers validate against them, the
file format stores columns in their order and quantizes with their steps, the CLI's ``info``
prints them and the documentation's parameter page (``docs/parameters.md``) is generated from
them by ``scripts/gen_parameters.py`` (``python -m atomsynth.rt.params`` prints them too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atomsynth.rt.errors import ParameterError

MAX_MODES = 64
"""The most modes one resonant atom may have."""

MDCT_SCALES = (128, 256, 512, 1024, 2048, 4096, 8192)
"""Allowed MDCT frame lengths 2N in samples (hop N = scale / 2)."""

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 384000
"""Allowed sample rates in Hz (inclusive)."""


def check_sample_rate(sample_rate: object, *, hi: int = MAX_SAMPLE_RATE) -> int:
    """Return ``sample_rate`` as an int if it is an integer in [8000, ``hi``] Hz, else raise.

    Raises
    ------
    ParameterError
        Naming the value and the allowed range.
    """
    if not isinstance(sample_rate, (int, np.integer)) or not MIN_SAMPLE_RATE <= sample_rate <= hi:
        raise ParameterError(f"sample_rate = {sample_rate!r} is out of range; allowed "
                             f"[{MIN_SAMPLE_RATE}, {hi}] Hz")
    return int(sample_rate)


@dataclass(frozen=True)
class ParamSpec:
    """One column of an atom family.

    Attributes
    ----------
    name : str
        Column name, with its unit as suffix where it has one (``f0_hz``, ``t60_s``).
    dtype : str
        NumPy dtype of the column in memory and in exact files.
    unit : str
        Human-readable unit ("s", "Hz", "dB", "" for dimensionless).
    lo, hi : float
        Inclusive allowed range.
    default : float
        Value a column takes when it is not given.
    doc : str
        One line: what the parameter does.
    step : float
        Quantization step of the compact file mode, in ``unit`` (or in cents / log units
        where ``log_step`` is true). 0 means "stored exactly".
    log_step : bool
        True if ``step`` is a step of the natural logarithm of the value (relative precision).
    """

    name: str
    dtype: str
    unit: str
    lo: float
    hi: float
    default: float
    doc: str
    step: float = 0.0
    log_step: bool = False

    @property
    def is_integer(self) -> bool:
        return np.dtype(self.dtype).kind in "iu"

    def range_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        lo = int(self.lo) if self.is_integer else self.lo
        hi = int(self.hi) if self.is_integer else self.hi
        return f"[{lo}, {hi}]{unit}"


# One cent is ln(2)/1200 in natural-log units.
_CENT = float(np.log(2.0) / 1200.0)

RESONANT_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("onset_s", "float64", "s", 0.0, 86400.0, 0.0,
              "time the excitation burst starts", 0.0005),
    ParamSpec("gain_db", "float64", "dB", -120.0, 24.0, -12.0,
              "output gain relative to the normalized atom (0 dB: burst RMS 1 at its peak, "
              "resonance modes ringing at amplitude 1 overall)", 0.25),
    ParamSpec("pan", "float64", "", -1.0, 1.0, 0.0,
              "constant-power pan, -1 left, +1 right (stereo sets)", 1.0 / 64),
    ParamSpec("f0_hz", "float64", "Hz", 1.0, 48000.0, 220.0,
              "fundamental frequency of the resonance", _CENT, True),
    ParamSpec("t60_s", "float64", "s", 0.001, 120.0, 1.0,
              "time the fundamental mode takes to decay by 60 dB", 0.02, True),
    ParamSpec("damping", "float64", "", -2.0, 4.0, 0.5,
              "decay exponent: mode m decays in t60_s * ratio_m ** -damping", 1.0 / 64),
    ParamSpec("inharmonicity", "float64", "", 0.0, 1.0, 0.0,
              "stiffness B of parametric modes: ratio_m = m * sqrt(1 + B m^2)", 0.0),
    ParamSpec("brightness", "float64", "", 0.0, 1.0, 0.7,
              "parametric mode gains fall as brightness ** (m - 1)", 1.0 / 256),
    ParamSpec("cutoff_hz", "float64", "Hz", 10.0, 96000.0, 8000.0,
              "Gaussian low-pass on mode gains: exp(-0.5 (f_m / cutoff_hz)^2)", 0.02, True),
    ParamSpec("n_modes", "int32", "", 1, MAX_MODES, 16,
              "number of modes (parametric), or the first n_modes of the preset's table"),
    ParamSpec("noise_hz", "float64", "Hz", 0.0, 48000.0, 2000.0,
              "centre of the excitation noise band", 1.0),
    ParamSpec("noise_bw_hz", "float64", "Hz", 1.0, 48000.0, 2000.0,
              "standard deviation of the Gaussian noise band", 0.02, True),
    ParamSpec("attack_s", "float64", "s", 0.0001, 10.0, 0.002,
              "time of the burst envelope's peak", 0.02, True),
    ParamSpec("burst_shape", "float64", "", 0.5, 64.0, 2.0,
              "gamma envelope shape k: env = (t/attack)^k exp(k (1 - t/attack))", 0.02, True),
    ParamSpec("mix", "float64", "", 0.0, 1.0, 0.0,
              "share of the dry burst in the output (0: resonance only)", 1.0 / 256),
    ParamSpec("seed", "uint32", "", 0, 2**32 - 1, 0,
              "key of the excitation's counter-based noise"),
    ParamSpec("preset", "int32", "", -1, 1023, -1,
              "-1: parametric modes; else index into the set's mode tables"),
    ParamSpec("group", "int32", "", 0, 65535, 0, "stem / source id"),
    ParamSpec("room", "int32", "", -1, 255, -1, "-1: dry; else index into the set's rooms"),
    ParamSpec("wet", "float64", "", 0.0, 1.0, 0.0, "send level to the atom's room", 1.0 / 256),
)

MDCT_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("scale", "int32", "samples", 128, 8192, 2048,
              "MDCT frame length 2N (a power of two); hop N = scale / 2"),
    ParamSpec("frame", "int32", "", 0, 2**31 - 1, 0,
              "frame index t; the frame spans samples [(t - 1) N, (t + 1) N)"),
    ParamSpec("bin", "int32", "", 0, 4095, 0,
              "frequency bin k in [0, N - 1]; centre frequency (k + 1/2) sr / (2 N)"),
    ParamSpec("channel", "int32", "", 0, 63, 0, "output channel"),
    ParamSpec("value", "float64", "", -1.0e6, 1.0e6, 0.0,
              "signed coefficient of the orthonormal MDCT atom"),
    ParamSpec("group", "int32", "", 0, 65535, 0, "stem / source id"),
)


def spec_table(specs: tuple[ParamSpec, ...]) -> str:
    """The parameters as a Markdown table (name, unit, range, default, meaning)."""
    rows = ["| parameter | range | default | meaning |", "| --- | --- | --- | --- |"]
    for s in specs:
        default = int(s.default) if s.is_integer else s.default
        rows.append(f"| `{s.name}` | {s.range_text()} | {default} | {s.doc} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover - documentation helper
    print("Resonant atoms\n\n" + spec_table(RESONANT_PARAMS))
    print("\nMDCT atoms\n\n" + spec_table(MDCT_PARAMS))
