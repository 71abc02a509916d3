"""Allowed parameter ranges of the built-in pedalboard effects.

pedalboard's setters take any float (a low-pass at -5 Hz, a gain of 1e308 dB) and the audio
then blows up to +237 dBFS or infinity. These are the ranges the underlying JUCE processors are
specified for (``juce::dsp::Chorus`` wants rates under 100 Hz, ``LadderFilter`` a drive of at
least 1, filters a cutoff under Nyquist, ...), checked once when an effect is made or changed.
``None`` as the upper bound of a frequency means "below Nyquist".
"""

from __future__ import annotations

import math
from typing import Any

from atomsynth.rt.errors import EffectError

NYQUIST = None
# kind -> parameter -> (lo, hi, lo_open): inclusive range, lo excluded when lo_open
EFFECT_RANGES: dict[str, dict[str, tuple[float, float | None, bool]]] = {
    "reverb": {k: (0.0, 1.0, False) for k in ("room_size", "damping", "wet_level", "dry_level",
                                              "width", "freeze_mode")},
    "delay": {"delay_seconds": (0.0, 30.0, False), "feedback": (0.0, 1.0, False),
              "mix": (0.0, 1.0, False)},
    "chorus": {"rate_hz": (0.0, 99.99, False), "depth": (0.0, 1.0, False),
               "centre_delay_ms": (1.0, 100.0, False), "feedback": (-0.99, 0.99, False),
               "mix": (0.0, 1.0, False)},
    "compressor": {"threshold_db": (-120.0, 24.0, False), "ratio": (1.0, 1000.0, False),
                   "attack_ms": (0.0, 10000.0, True), "release_ms": (0.0, 10000.0, True)},
    "gain": {"gain_db": (-120.0, 48.0, False)},
    "highpass": {"cutoff_frequency_hz": (0.0, NYQUIST, True)},
    "lowpass": {"cutoff_frequency_hz": (0.0, NYQUIST, True)},
    "limiter": {"threshold_db": (-120.0, 0.0, False), "release_ms": (0.0, 10000.0, True)},
    "distortion": {"drive_db": (-60.0, 100.0, False)},
    "phaser": {"rate_hz": (0.0, 99.99, False), "depth": (0.0, 1.0, False),
               "centre_frequency_hz": (0.0, NYQUIST, True), "feedback": (-0.99, 0.99, False),
               "mix": (0.0, 1.0, False)},
    "ladder": {"cutoff_hz": (0.0, NYQUIST, True), "resonance": (0.0, 1.0, False),
               "drive": (1.0, 1000.0, False)},
}


def check_effect_param(kind: str, name: str, value: Any, sample_rate: float) -> None:
    """Raise :class:`EffectError` naming the effect, parameter, value and allowed range if
    ``value`` is not a finite number inside the parameter's range (parameters this table does
    not list, such as the ladder's ``mode``, are left to pedalboard)."""
    spec = EFFECT_RANGES.get(kind, {}).get(name)
    if spec is None:
        return
    lo, hi, lo_open = spec
    top = sample_rate / 2.0 if hi is None else hi
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise EffectError(f"{name} = {value!r} is not a number") from None
    if not math.isfinite(x) or x < lo or x > top or (lo_open and x == lo) or (
            hi is None and x >= top):
        left = "(" if lo_open else "["
        right = ")" if hi is None else "]"
        unit = " (below Nyquist)" if hi is None else ""
        raise EffectError(f"{name} = {value!r} is out of range; allowed "
                          f"{left}{lo:g}, {top:g}{right}{unit}")
