"""Build the bundled example atom sets in ``presets/examples/`` from the resonance presets.

    python -m atomsynth.presets.make_examples [--out DIR]

Each example is a short, musical piece written note by note: a marimba phrase (the default),
bells, a drum pattern and a bowed texture. Everything is deterministic (fixed seeds), so
running the script again reproduces the committed files byte for byte.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from atomsynth.rt.atomfile import save
from atomsynth.rt.atoms import AtomSet, ResonantAtoms
from atomsynth.rt.presets import data_dir, get_preset
from atomsynth.rt.reference import render

SAMPLE_RATE = 48000
PEAK_DBFS = -3.0


def midi_hz(note: float) -> float:
    """Equal-tempered frequency of a MIDI note number (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


class Score:
    """Collects notes as columns of resonant atoms, and the mode tables they use."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.tables: list = []

    def preset(self, name: str) -> int:
        table = get_preset(name)
        for i, t in enumerate(self.tables):
            if t.name == table.name:
                return i
        self.tables.append(table)
        return len(self.tables) - 1

    def note(self, **params) -> None:
        self.rows.append(params)

    def atoms(self) -> ResonantAtoms:
        names = sorted({k for row in self.rows for k in row})
        defaults = {s.name: s.default for s in ResonantAtoms.SPECS}
        cols = {k: np.array([row.get(k, defaults[k]) for row in self.rows]) for k in names}
        return ResonantAtoms(len(self.rows), **cols)


def marimba_phrase() -> AtomSet:
    """Eight bars of a pentatonic marimba line over a walking bass, 112 bpm."""
    s, beat = Score(), 60.0 / 112
    marimba = s.preset("marimba")
    melody = [  # (beat, midi note, accent)
        (0, 72, 1), (1, 74, 0), (1.5, 76, 0), (2, 79, 1), (3, 76, 0), (3.5, 74, 0),
        (4, 72, 1), (5, 69, 0), (5.5, 72, 0), (6, 74, 1), (7, 72, 0),
        (8, 76, 1), (9, 79, 0), (9.5, 81, 0), (10, 84, 1), (11, 81, 0), (11.5, 79, 0),
        (12, 76, 1), (12.5, 79, 0), (13, 81, 0), (14, 79, 1), (14.5, 76, 0), (15, 74, 0),
        (16, 72, 1), (16.5, 74, 0), (17, 76, 0), (17.5, 79, 0), (18, 81, 1), (19, 79, 0),
        (20, 76, 1), (21, 74, 0), (21.5, 72, 0), (22, 69, 1), (23, 67, 0),
        (24, 72, 1), (25, 76, 0), (26, 79, 1), (26.5, 81, 0), (27, 84, 1), (28, 79, 0),
        (29, 76, 0), (30, 72, 1),
    ]
    bass = [(0, 48), (2, 55), (4, 45), (6, 50), (8, 52), (10, 55), (12, 57), (14, 55),
            (16, 48), (18, 53), (20, 52), (22, 45), (24, 48), (26, 55), (28, 43), (30, 48)]
    rng = np.random.default_rng(112)
    for b, n, accent in melody:
        f0 = midi_hz(n)
        s.note(onset_s=max(0.0, b * beat + rng.normal(0, 0.004)), f0_hz=f0, preset=marimba,
               n_modes=6,
               t60_s=float(np.clip(2.2 * (220.0 / f0) ** 0.7, 0.25, 1.6)),
               gain_db=-14.0 + 4.0 * accent + rng.normal(0, 1.0), pan=(n - 74) / 14.0,
               attack_s=0.0012, burst_shape=2.0, noise_hz=1800.0, noise_bw_hz=2500.0,
               mix=0.02, seed=len(s.rows), group=0, room=0, wet=0.18,
               brightness=1.0, damping=0.0)
    for b, n in bass:
        f0 = midi_hz(n)
        s.note(onset_s=b * beat, f0_hz=f0, preset=marimba, n_modes=6, t60_s=1.8,
               gain_db=-11.0, pan=-0.35, attack_s=0.0025, burst_shape=2.0, noise_hz=600.0,
               noise_bw_hz=900.0, seed=1000 + len(s.rows), group=1, room=0, wet=0.12,
               brightness=1.0, damping=0.0)
    return AtomSet(sample_rate=SAMPLE_RATE, channels=2, resonant=s.atoms(),
                   mode_tables=tuple(s.tables), group_names=("melody", "bass"),
                   room_names=("room",), provenance={"tool": "atomsynth.presets.make_examples",
                                                     "piece": "marimba_phrase"})


def bells() -> AtomSet:
    """A church bell tolling under the Westminster quarters on tubular bells, with glockenspiel."""
    s = Score()
    church, tubular, glock = s.preset("church_bell"), s.preset("tubular_bell"), s.preset(
        "glockenspiel")
    for i, t in enumerate((0.0, 4.5, 9.0)):
        s.note(onset_s=t, f0_hz=midi_hz(43), preset=church, t60_s=9.0, gain_db=-8.0,
               pan=-0.2, attack_s=0.002, burst_shape=2.0, noise_hz=900.0, noise_bw_hz=1500.0,
               seed=10 + i, group=0, room=0, wet=0.35, brightness=1.0, damping=0.0,
               n_modes=64)
    quarters = [64, 60, 62, 55, 55, 62, 64, 60]  # E C D G / G D E C
    for i, n in enumerate(quarters):
        t = 0.6 + i * 1.05 + (0.5 if i >= 4 else 0.0)
        s.note(onset_s=t, f0_hz=midi_hz(n), preset=tubular, t60_s=5.0, gain_db=-12.0,
               pan=0.3, attack_s=0.0015, burst_shape=2.5, noise_hz=2500.0, noise_bw_hz=3000.0,
               seed=100 + i, group=1, room=0, wet=0.3, brightness=1.0, damping=0.0,
               n_modes=64)
    rng = np.random.default_rng(7)
    for i in range(10):
        n = int(rng.choice([76, 79, 83, 84, 88, 91]))
        s.note(onset_s=9.6 + 0.21 * i + rng.normal(0, 0.01), f0_hz=midi_hz(n), preset=glock,
               t60_s=2.0, gain_db=-21.0 + rng.normal(0, 1.5), pan=float(rng.uniform(-0.8, 0.8)),
               attack_s=0.0006, burst_shape=2.0, noise_hz=5000.0, noise_bw_hz=4000.0,
               seed=200 + i, group=2, room=0, wet=0.4, brightness=1.0, damping=0.0, n_modes=64)
    return AtomSet(sample_rate=SAMPLE_RATE, channels=2, resonant=s.atoms(),
                   mode_tables=tuple(s.tables),
                   group_names=("church bell", "tubular bells", "glockenspiel"),
                   room_names=("hall",), duration_s=16.0,
                   provenance={"tool": "atomsynth.presets.make_examples", "piece": "bells"})


def drum_pattern() -> AtomSet:
    """Four bars of a 96 bpm groove: kick and toms on membranes, snare, hi-hats, wood block."""
    s, beat = Score(), 60.0 / 96
    membrane, block = s.preset("circular_membrane"), s.preset("wood_block")
    rng = np.random.default_rng(96)
    kick = [0, 1.5, 2.5, 4, 5.5, 6.5, 8, 9.5, 10.5, 12, 13.5, 14.25, 14.5]
    snare = [1, 3, 5, 7, 9, 11, 13, 15, 15.75]
    for i, b in enumerate(kick):
        s.note(onset_s=b * beat, f0_hz=52.0, preset=membrane, n_modes=12, t60_s=0.45,
               gain_db=-4.0 - 3.0 * (b % 1 != 0), attack_s=0.0015, burst_shape=1.5,
               noise_hz=150.0, noise_bw_hz=300.0, damping=1.2, brightness=0.85, seed=i,
               group=0, room=0, wet=0.05)
    for i, b in enumerate(snare):
        ghost = b % 1 != 0
        s.note(onset_s=b * beat, f0_hz=185.0, preset=membrane, n_modes=24, t60_s=0.22,
               gain_db=-9.0 - 8.0 * ghost, attack_s=0.0008, burst_shape=1.2, noise_hz=3500.0,
               noise_bw_hz=3000.0, mix=0.55, damping=0.8, brightness=0.95, seed=100 + i,
               group=1, room=0, wet=0.12)
    for i in range(32):
        b = i * 0.5
        open_hat = i % 8 == 7
        s.note(onset_s=max(0.0, b * beat + rng.normal(0, 0.003)), f0_hz=3150.0, n_modes=8,
               inharmonicity=0.08, t60_s=0.35 if open_hat else 0.06, damping=0.3,
               brightness=0.9, cutoff_hz=16000.0, gain_db=-22.0 + 3.0 * (i % 2 == 0)
               + rng.normal(0, 1.0), pan=0.45, attack_s=0.0004, burst_shape=1.0,
               noise_hz=9000.0, noise_bw_hz=3500.0, mix=0.7, seed=200 + i, group=2, room=0,
               wet=0.08)
    toms = [(14.75, 98.0), (15.0, 82.0), (15.25, 73.0), (15.5, 65.0)]
    for i, (b, f0) in enumerate(toms):
        s.note(onset_s=b * beat, f0_hz=f0, preset=membrane, n_modes=10, t60_s=0.7,
               gain_db=-9.0, pan=0.3 - 0.2 * i, attack_s=0.0012, burst_shape=1.5,
               noise_hz=400.0, noise_bw_hz=600.0, damping=1.0, brightness=0.9, seed=300 + i,
               group=0, room=0, wet=0.15)
    for i, b in enumerate([2.75, 6.75, 10.75, 11.25]):
        s.note(onset_s=b * beat, f0_hz=900.0 + 120 * (i % 2), preset=block, n_modes=6,
               t60_s=0.12, gain_db=-15.0, pan=-0.5, attack_s=0.0005, burst_shape=2.0,
               noise_hz=2500.0, noise_bw_hz=2500.0, brightness=1.0, damping=0.0,
               seed=400 + i, group=3, room=0, wet=0.1)
    return AtomSet(sample_rate=SAMPLE_RATE, channels=2, resonant=s.atoms(),
                   mode_tables=tuple(s.tables), group_names=("kick and toms", "snare",
                                                             "hi-hats", "wood block"),
                   room_names=("room",), duration_s=16 * beat + 1.0,
                   provenance={"tool": "atomsynth.presets.make_examples",
                               "piece": "drum_pattern"})


def bowed_texture() -> AtomSet:
    """Slow swells of bowed strings: long, smooth noise bursts driving stiff-string modes."""
    s = Score()
    string, glass = s.preset("stiff_string"), s.preset("wine_glass")
    rng = np.random.default_rng(5)
    chords = [(0.0, [45, 52, 57, 61, 64]), (4.0, [43, 50, 55, 59, 66]),
              (8.0, [41, 48, 57, 60, 64]), (12.0, [45, 52, 57, 61, 69])]
    for t0, notes in chords:
        for j, n in enumerate(notes):
            for layer in range(3):  # several overlapping bow strokes per note
                f0 = midi_hz(n) * 2 ** (rng.normal(0, 4) / 1200)  # a few cents of detune
                s.note(onset_s=t0 + 0.15 * j + 1.1 * layer + rng.uniform(0, 0.2), f0_hz=f0,
                       preset=string, n_modes=40, t60_s=2.5, damping=0.6, brightness=0.93,
                       cutoff_hz=5000.0, gain_db=-17.0 - 1.5 * (n > 60) + rng.normal(0, 1),
                       pan=float(np.clip((n - 55) / 16 + rng.normal(0, 0.1), -1, 1)),
                       attack_s=float(rng.uniform(0.5, 0.9)), burst_shape=12.0,
                       noise_hz=float(midi_hz(n) * 3), noise_bw_hz=float(midi_hz(n) * 2.5),
                       mix=0.04, seed=len(s.rows), group=0 if n < 55 else 1, room=0,
                       wet=0.3)
    for i, t in enumerate([3.0, 7.2, 11.4, 15.0]):
        s.note(onset_s=t, f0_hz=midi_hz(81 + (i % 2) * 3), preset=glass, n_modes=8, t60_s=6.0,
               gain_db=-24.0, pan=0.6 - 0.4 * i, attack_s=0.8, burst_shape=16.0,
               noise_hz=midi_hz(81), noise_bw_hz=300.0, brightness=1.0, damping=0.0,
               seed=900 + i, group=2, room=0, wet=0.45)
    return AtomSet(sample_rate=SAMPLE_RATE, channels=2, resonant=s.atoms(),
                   mode_tables=tuple(s.tables),
                   group_names=("low strings", "high strings", "glass"), room_names=("hall",),
                   duration_s=20.0,
                   provenance={"tool": "atomsynth.presets.make_examples",
                               "piece": "bowed_texture"})


EXAMPLES: dict[str, Callable[[], AtomSet]] = {
    "marimba_phrase": marimba_phrase,
    "bells": bells,
    "drum_pattern": drum_pattern,
    "bowed_texture": bowed_texture,
}


def normalized(atom_set: AtomSet, peak_dbfs: float = PEAK_DBFS) -> AtomSet:
    """Shift every atom's gain so the dry mix peaks at ``peak_dbfs``."""
    peak = float(np.abs(render(atom_set)).max())
    shift = peak_dbfs - 20.0 * np.log10(peak)
    return atom_set.replace(resonant=atom_set.resonant.with_columns(
        gain_db=np.round(atom_set.resonant.gain_db + shift, 2)))


def build(out: Path, names: list[str] | None = None, *, verbose: bool = True) -> list[Path]:
    """Write the examples into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(EXAMPLES):
        atom_set = normalized(EXAMPLES[name]())
        path = out / f"{name}.atoms"
        size = save(atom_set, path)
        written.append(path)
        if verbose:
            print(f"{path}: {len(atom_set.resonant)} atoms, {atom_set.length_s:.1f} s, "
                  f"{size} bytes")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=data_dir() / "examples")
    parser.add_argument("names", nargs="*", choices=[[], *EXAMPLES], default=None)
    args = parser.parse_args(argv)
    build(args.out, args.names or None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
