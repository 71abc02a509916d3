"""The musical grid: pitch snap (semitone, cent, a scale), note names, a tempo grid.

Pitches are equal-tempered against ``A4 = 440 Hz`` (MIDI note 69). A scale is a set of
pitch classes above a root (``C`` = 0); snapping to it picks the nearest note of the scale.
The tempo grid divides each beat of ``bpm`` into ``division`` steps, starting at 0 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural minor": (0, 2, 3, 5, 7, 8, 10),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "whole tone": (0, 2, 4, 6, 8, 10),
}
PITCH_MODES = ("off", "semitone", "cent", "scale")
A4_HZ = 440.0


def midi_of(f_hz):
    """Fractional MIDI note number of a frequency (69 = A4 = 440 Hz)."""
    return 69.0 + 12.0 * np.log2(np.asarray(f_hz, dtype=np.float64) / A4_HZ)


def hz_of(midi):
    return A4_HZ * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def note_name(f_hz: float, *, cents: bool = False) -> str:
    """``A4``, ``C#5``; with ``cents`` the deviation too (``A4 +12¢``)."""
    if not f_hz > 0:
        return ""
    m = float(midi_of(f_hz))
    n = int(round(m))
    name = f"{NOTE_NAMES[n % 12]}{n // 12 - 1}"
    if cents:
        c = round(100 * (m - n))
        if c:
            name += f" {c:+d}¢"
    return name


@dataclass
class Grid:
    """Snap settings of the view and the pitch macro.

    pitch_mode : "off", "semitone", "cent" or "scale"
    scale, root : the scale (key of :data:`SCALES`) and its root pitch class (0 = C)
    time_snap : snap onsets to the tempo grid
    bpm, division : tempo and steps per beat
    show_beats : draw the tempo grid
    """

    pitch_mode: str = "off"
    scale: str = "major"
    root: int = 0
    time_snap: bool = False
    bpm: float = 120.0
    division: int = 4
    show_beats: bool = False

    @property
    def step_s(self) -> float:
        """One grid step in seconds."""
        return 60.0 / self.bpm / self.division

    def snap_hz(self, f_hz):
        """Frequencies snapped to the pitch grid (unchanged when it is off)."""
        f = np.asarray(f_hz, dtype=np.float64)
        if self.pitch_mode == "off":
            return f
        m = midi_of(f)
        if self.pitch_mode == "semitone":
            return hz_of(np.round(m))
        if self.pitch_mode == "cent":
            return hz_of(np.round(m * 100.0) / 100.0)
        return hz_of(self.snap_midi_to_scale(m))

    def snap_midi_to_scale(self, m):
        m = np.asarray(m, dtype=np.float64)
        classes = np.array(SCALES[self.scale]) + self.root
        base = np.floor(m / 12.0) * 12.0
        # candidates: every scale note in this octave and its neighbours
        cand = (base[..., None] + np.concatenate([classes - 12, classes, classes + 12]))
        i = np.argmin(np.abs(cand - m[..., None]), axis=-1)
        return np.take_along_axis(cand, i[..., None], axis=-1)[..., 0]

    def snap_semitones(self, x: float) -> float:
        """A pitch shift in semitones snapped for the pitch macro (scale mode: semitones)."""
        if self.pitch_mode in ("semitone", "scale"):
            return float(round(x))
        if self.pitch_mode == "cent":
            return round(x * 100.0) / 100.0
        return x

    def snap_s(self, t_s):
        """Times snapped to the tempo grid (unchanged when time snap is off)."""
        t = np.asarray(t_s, dtype=np.float64)
        if not self.time_snap:
            return t
        return np.round(t / self.step_s) * self.step_s

    def pitch_step_ratio(self) -> float:
        """The frequency ratio of one arrow-key nudge (a cent in cent mode, else a semitone)."""
        return 2.0 ** (1 / 1200) if self.pitch_mode == "cent" else 2.0 ** (1 / 12)

    def time_step_s(self) -> float:
        """One arrow-key nudge in time: a grid step, or 10 ms without time snap."""
        return self.step_s if self.time_snap else 0.01

    def beats_in(self, t0: float, t1: float, max_lines: int = 2000) -> np.ndarray:
        """Beat (and subdivision) times in [t0, t1], none when there would be too many."""
        step = self.step_s
        if t1 <= t0 or (t1 - t0) / step > max_lines:
            step = 60.0 / self.bpm
            if (t1 - t0) / step > max_lines:
                return np.zeros(0)
        k0, k1 = math.ceil(max(t0, 0.0) / step), math.floor(t1 / step)
        return np.arange(k0, k1 + 1) * step
